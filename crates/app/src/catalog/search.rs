//! Catalog search: one in-process index over every service's names, summaries and keywords in
//! every language, built from the catalog when it is loaded, so results are the same on every
//! database. Terms live in a finite-state set (`fst`), searched exactly, by prefix (a word
//! being typed) and within an edit distance (typos: "pasport", "passprot"). Every term is
//! also indexed in Latin letters, so "pasport" finds "паспорт" and "pasaporta" finds
//! "पासपोर्ट" when a person types without their keyboard's script.

use std::collections::{BTreeMap, HashMap};

use ekdwar_domain::catalog::Service;
use fst::automaton::{Levenshtein, Str};
use fst::{Automaton, IntoStreamer, Map, Streamer};
use unicode_normalization::UnicodeNormalization;

/// How much a match in each part of a service counts.
const NAME: u32 = 8;
const KEYWORD: u32 = 6;
const SUMMARY: u32 = 2;

/// How a query word matched a term, best first.
const EXACT: u32 = 4;
const PREFIX: u32 = 3;
const FUZZY: u32 = 2;

/// The search index of one catalog snapshot.
pub struct SearchIndex {
    /// Each term and the position of its postings.
    terms: Map<Vec<u8>>,
    /// For each term, the services it occurs in and the weight.
    postings: Vec<Vec<(usize, u32)>>,
    /// Services marked popular: first among equal matches.
    popular: Vec<bool>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("terms", &self.terms.len())
            .finish()
    }
}

/// Splits text into lower-case, NFC-normalised words. Devanagari and Bengali vowel signs are
/// marks, not separators, so a word stays whole.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || is_mark(c)))
        .filter(|w| !w.is_empty())
        .map(|w| w.nfc().flat_map(char::to_lowercase).collect::<String>())
        .filter(|w| w.chars().count() >= 2)
}

/// Combining marks of the Indic scripts (vowel signs, virama, nukta…), which `is_alphanumeric`
/// does not count.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963
        | 0x0981..=0x0983 | 0x09BC..=0x09D7 | 0x09E2..=0x09E3 | 0x200C..=0x200D)
}

/// The word in Latin letters (`паспорт` → `pasport`), if it is not in them already.
fn latin(word: &str) -> Option<String> {
    if word.is_ascii() {
        return None;
    }
    let l = any_ascii::any_ascii(word).to_lowercase();
    let l: String = l.chars().filter(char::is_ascii_alphanumeric).collect();
    (l.len() >= 2).then_some(l)
}

impl SearchIndex {
    /// Indexes `services` (their position in the slice is what results refer to).
    pub fn build(services: &[&Service]) -> Self {
        let mut map: BTreeMap<String, HashMap<usize, u32>> = BTreeMap::new();
        let mut add = |term: String, doc: usize, weight: u32| {
            let slot = map.entry(term).or_default().entry(doc).or_default();
            *slot = (*slot).max(weight);
        };
        for (doc, s) in services.iter().enumerate() {
            let mut texts: Vec<(&str, u32)> = Vec::new();
            texts.extend(s.name.all().map(|t| (t, NAME)));
            texts.extend(s.summary.all().map(|t| (t, SUMMARY)));
            texts.extend(s.keywords.values().flatten().map(|t| (t.as_str(), KEYWORD)));
            texts.push((s.code.as_str(), KEYWORD));
            for (text, weight) in texts {
                for w in words(text) {
                    // A word met only through its Latin spelling ranks below the same word in
                    // its own script (Bengali "ভর্তি" is Hindi "भर्ती" in Latin letters).
                    if let Some(l) = latin(&w) {
                        add(l, doc, weight * 3 / 4);
                    }
                    add(w, doc, weight);
                }
            }
        }
        let mut postings = Vec::with_capacity(map.len());
        let terms = Map::from_iter(map.keys().enumerate().map(|(i, k)| (k, i as u64)))
            .expect("terms are sorted and unique");
        for docs in map.into_values() {
            postings.push(docs.into_iter().collect());
        }
        Self {
            terms,
            postings,
            popular: services.iter().map(|s| s.popular).collect(),
        }
    }

    /// The services matching `query`, best first, as positions in the slice the index was
    /// built from. Every word of the query must match (exactly, as a prefix, or within a small
    /// edit distance); better matches in more important parts rank higher.
    pub fn search(&self, query: &str) -> Vec<usize> {
        let query_words: Vec<String> = words(query).take(8).collect();
        if query_words.is_empty() {
            return Vec::new();
        }
        let n = self.popular.len();
        // Scores in flat arrays: a query word may match thousands of services.
        let mut total = vec![0u32; n];
        let mut matched = vec![0usize; n];
        let mut best = vec![0u32; n];
        for (i, word) in query_words.iter().enumerate() {
            best.iter_mut().for_each(|b| *b = 0);
            let forms: Vec<String> = std::iter::once(word.clone()).chain(latin(word)).collect();
            for form in &forms {
                self.collect(Str::new(form), EXACT, &mut best, |t| t == form.as_bytes());
                self.collect(Str::new(form).starts_with(), PREFIX, &mut best, |_| true);
                let distance = match form.chars().count() {
                    0..=3 => 0,
                    4..=6 => 1,
                    _ => 2,
                };
                if distance > 0
                    && let Ok(lev) = Levenshtein::new(form, distance)
                {
                    self.collect(&lev, FUZZY, &mut best, |_| true);
                }
            }
            // Every word must match: a service counts only if it matched all words so far.
            for doc in 0..n {
                if best[doc] > 0 && matched[doc] == i {
                    total[doc] += best[doc];
                    matched[doc] += 1;
                }
            }
        }
        // Popularity only breaks ties: a better match always ranks first.
        let mut hits: Vec<(usize, u32)> = (0..n)
            .filter(|&doc| matched[doc] == query_words.len())
            .map(|doc| (doc, total[doc] * 2 + u32::from(self.popular[doc])))
            .collect();
        hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.into_iter().map(|(doc, _)| doc).collect()
    }

    fn collect<A: Automaton>(
        &self,
        automaton: A,
        quality: u32,
        best: &mut [u32],
        accept: impl Fn(&[u8]) -> bool,
    ) {
        let mut stream = self.terms.search(automaton).into_stream();
        let mut seen = 0;
        while let Some((term, at)) = stream.next() {
            seen += 1;
            // A one-letter prefix can match half the index: enough is enough.
            if seen > 500 {
                break;
            }
            if !accept(term) {
                continue;
            }
            for &(doc, weight) in &self.postings[at as usize] {
                best[doc] = best[doc].max(weight * quality);
            }
        }
    }
}
