//! Payments: money, the ledger an order's state is derived from, how gateways sign, and the
//! bank challan.

pub mod challan;
pub mod ledger;
pub mod money;
pub mod signing;

pub use challan::{ChallanRef, StatementLine};
pub use ledger::{
    AttemptStatus, AttemptView, EventKind, LedgerEvent, OrderStatus, OrderView, PayChannel,
    RefundStatus, RefundView,
};
pub use money::{Currency, Money, MoneyError};
