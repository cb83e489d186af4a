//! Every page and error state in each language.
