//! Printed documents. A [`Sheet`] is a titled list of blocks (headings, label and value rows,
//! paragraphs, a QR code) laid out on A4 pages. Text in Devanagari and Bengali is shaped with
//! the fonts bundled here; every other script falls back to Noto Sans (Latin, Cyrillic). Each
//! run of text keeps its characters, so the PDF's text can be extracted and searched.

use std::sync::LazyLock;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};

const LATIN: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
const DEVANAGARI: &[u8] = include_bytes!("../fonts/NotoSansDevanagari-Regular.ttf");
const BENGALI: &[u8] = include_bytes!("../fonts/NotoSansBengali-Regular.ttf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const LABEL_W: f32 = 170.0;
const GAP: f32 = 10.0;

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the QR code cannot hold this text")]
    Qr,
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// One part of a sheet, in reading order.
#[derive(Debug, Clone)]
enum Block {
    Heading(String),
    Row(String, String),
    Text(String),
    Qr { payload: String, caption: String },
    PageBreak,
}

/// A document to print: a title and blocks, in one language.
#[derive(Debug, Clone)]
pub struct Sheet {
    title: String,
    lang: String,
    blocks: Vec<Block>,
}

impl Sheet {
    /// A sheet titled `title`, written in `lang` (a BCP 47 tag, recorded in the PDF).
    pub fn new(title: impl Into<String>, lang: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            lang: lang.into(),
            blocks: Vec::new(),
        }
    }

    /// A section heading.
    pub fn heading(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Heading(text.into()));
        self
    }

    /// A label with its value beside it (the value wraps under itself).
    pub fn row(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.blocks.push(Block::Row(label.into(), value.into()));
        self
    }

    /// A paragraph across the page.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    /// What follows starts on a new page (one letter of a batch per page).
    pub fn page_break(mut self) -> Self {
        self.blocks.push(Block::PageBreak);
        self
    }

    /// A QR code of `payload` with a caption beside it.
    pub fn qr(mut self, payload: impl Into<String>, caption: impl Into<String>) -> Self {
        self.blocks.push(Block::Qr {
            payload: payload.into(),
            caption: caption.into(),
        });
        self
    }

    /// The PDF.
    pub fn render(&self) -> Result<Vec<u8>, Error> {
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new()
                .title(self.title.clone())
                .language(self.lang.clone())
                .creator("Ekdwar".to_owned()),
        );
        let mut pen = Pen::new(&mut document);
        pen.lines(&self.title, 18.0, MARGIN, PAGE_W - 2.0 * MARGIN);
        pen.y += 8.0;
        for block in &self.blocks {
            match block {
                Block::Heading(text) => {
                    pen.y += 10.0;
                    pen.lines(text, 13.0, MARGIN, PAGE_W - 2.0 * MARGIN);
                    pen.rule();
                }
                Block::Row(label, value) => {
                    let value_x = MARGIN + LABEL_W + GAP;
                    let value_w = PAGE_W - MARGIN - value_x;
                    let need = wrap(label, 10.0, LABEL_W)
                        .len()
                        .max(wrap(value, 10.0, value_w).len());
                    pen.room(need as f32 * line_height(10.0));
                    let top = pen.y;
                    pen.lines(label, 10.0, MARGIN, LABEL_W);
                    let below_label = pen.y;
                    pen.y = top;
                    pen.lines(value, 10.0, value_x, value_w);
                    pen.y = pen.y.max(below_label) + 2.0;
                }
                Block::PageBreak => {
                    pen.flush();
                    pen.y = MARGIN;
                }
                Block::Text(text) => {
                    pen.y += 4.0;
                    pen.lines(text, 10.0, MARGIN, PAGE_W - 2.0 * MARGIN);
                }
                Block::Qr { payload, caption } => {
                    let code = qrcode::QrCode::with_error_correction_level(
                        payload.as_bytes(),
                        qrcode::EcLevel::M,
                    )
                    .map_err(|_| Error::Qr)?;
                    let size = 130.0;
                    pen.y += 10.0;
                    pen.room(size);
                    let top = pen.y;
                    pen.qr(&code, MARGIN, size);
                    pen.y = top + 8.0;
                    let x = MARGIN + size + 2.0 * GAP;
                    pen.lines(caption, 10.0, x, PAGE_W - MARGIN - x);
                    pen.y = pen.y.max(top + size) + 4.0;
                }
            }
        }
        pen.finish();
        document.finish().map_err(|e| Error::Pdf(format!("{e:?}")))
    }
}

/// Where the next line goes, starting a new page when one is full.
struct Pen<'d> {
    document: &'d mut Document,
    ops: Vec<Op>,
    y: f32,
}

/// What is drawn on the current page, kept until the page is finished (a page borrows the
/// document, so drawing is batched per page).
enum Op {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        run: Run,
    },
    Rect(Rect),
}

impl<'d> Pen<'d> {
    fn new(document: &'d mut Document) -> Self {
        Self {
            document,
            ops: Vec::new(),
            y: MARGIN,
        }
    }

    /// Makes sure `height` fits on this page, else moves to a new one.
    fn room(&mut self, height: f32) {
        if self.y + height > PAGE_H - MARGIN {
            self.flush();
            self.y = MARGIN;
        }
    }

    fn lines(&mut self, text: &str, size: f32, x: f32, width: f32) {
        for line in wrap(text, size, width) {
            self.room(line_height(size));
            let baseline = self.y + size;
            let mut at = x;
            for run in line {
                let advance = run.width * size;
                self.ops.push(Op::Text {
                    x: at,
                    baseline,
                    size,
                    run,
                });
                at += advance;
            }
            self.y += line_height(size);
        }
    }

    fn rule(&mut self) {
        if let Some(r) = Rect::from_xywh(MARGIN, self.y + 1.0, PAGE_W - 2.0 * MARGIN, 0.6) {
            self.ops.push(Op::Rect(r));
        }
        self.y += 6.0;
    }

    fn qr(&mut self, code: &qrcode::QrCode, x: f32, size: f32) {
        let width = code.width();
        // A quiet zone of four modules on every side, as readers expect.
        let module = size / (width as f32 + 8.0);
        for (i, colour) in code.to_colors().iter().enumerate() {
            if *colour == qrcode::Color::Dark {
                let (cx, cy) = ((i % width) as f32 + 4.0, (i / width) as f32 + 4.0);
                if let Some(r) =
                    Rect::from_xywh(x + cx * module, self.y + cy * module, module, module)
                {
                    self.ops.push(Op::Rect(r));
                }
            }
        }
        self.y += size;
    }

    /// Draws what is pending on a page of its own.
    fn flush(&mut self) {
        if self.ops.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.ops);
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid size");
        let mut page = self.document.start_page_with(settings);
        let mut surface = page.surface();
        draw(&mut surface, ops);
        surface.finish();
        page.finish();
    }

    fn finish(mut self) {
        self.flush();
    }
}

fn draw(surface: &mut Surface<'_>, ops: Vec<Op>) {
    surface.set_fill(Some(Fill {
        paint: rgb::Color::new(0, 0, 0).into(),
        ..Fill::default()
    }));
    let mut rects = PathBuilder::new();
    let mut any_rect = false;
    for op in ops {
        match op {
            Op::Text {
                x,
                baseline,
                size,
                run,
            } => {
                let font = run.script.font();
                surface.draw_glyphs(
                    Point::from_xy(x, baseline),
                    &run.glyphs,
                    font.clone(),
                    &run.text,
                    size,
                    false,
                );
            }
            Op::Rect(r) => {
                rects.push_rect(r);
                any_rect = true;
            }
        }
    }
    if any_rect && let Some(path) = rects.finish() {
        surface.draw_path(&path);
    }
}

fn line_height(size: f32) -> f32 {
    // Indic scripts stack marks above and below: give them room.
    size * 1.6
}

/// The scripts that have a font of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Devanagari,
    Bengali,
}

static FONTS: LazyLock<[Font; 3]> = LazyLock::new(|| {
    [LATIN, DEVANAGARI, BENGALI].map(|bytes| Font::new(bytes.into(), 0).expect("bundled font"))
});

impl Script {
    fn of(c: char) -> Option<Script> {
        match c as u32 {
            0x0900..=0x097F | 0xA8E0..=0xA8FF | 0x1CD0..=0x1CFF => Some(Script::Devanagari),
            0x0980..=0x09FF => Some(Script::Bengali),
            // Spaces, digits, punctuation and joiners go with the run around them.
            _ if c.is_ascii_digit()
                || c.is_whitespace()
                || c.is_ascii_punctuation()
                || matches!(c as u32, 0x200B..=0x200D) =>
            {
                None
            }
            _ => Some(Script::Latin),
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Script::Latin => LATIN,
            Script::Devanagari => DEVANAGARI,
            Script::Bengali => BENGALI,
        }
    }

    fn font(self) -> &'static Font {
        &FONTS[self as usize]
    }
}

/// A shaped run of one script: its glyphs and its width in ems.
#[derive(Debug, Clone)]
struct Run {
    script: Script,
    text: String,
    glyphs: Vec<KrillaGlyph>,
    width: f32,
}

/// Splits `text` into runs of one script each.
fn runs(text: &str) -> Vec<(Script, &str)> {
    let mut out: Vec<(Script, usize, usize)> = Vec::new();
    let mut current: Option<Script> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (Script::of(c), current) {
            (Some(s), Some(cur)) if s != cur => {
                out.push((cur, start, i));
                start = i;
                current = Some(s);
            }
            (Some(s), None) => current = Some(s),
            _ => {}
        }
    }
    if start < text.len() {
        out.push((current.unwrap_or(Script::Latin), start, text.len()));
    }
    out.into_iter().map(|(s, a, b)| (s, &text[a..b])).collect()
}

fn shape(script: Script, text: &str) -> Run {
    let face = rustybuzz::Face::from_slice(script.bytes(), 0).expect("bundled font");
    let per_em = face.units_per_em() as f32;
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    // A cluster per character, except where glyphs are reordered (a vowel sign drawn before
    // its consonant, a reph after): a vowel sign then maps to its own character, so text
    // extraction does not split a word around it, and reordered glyphs still read in order.
    buffer.set_cluster_level(rustybuzz::BufferClusterLevel::MonotoneCharacters);
    let output = rustybuzz::shape(&face, &[], buffer);
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();
    // A cluster's text runs to the next cluster's start in the text. Glyphs may come in
    // another order than their characters (a vowel sign drawn before its consonant), so the
    // next start is looked up among all clusters, not taken from the next glyph.
    let mut starts: Vec<usize> = infos.iter().map(|i| i.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut placed: Vec<Placed> = Vec::with_capacity(infos.len());
    for (info, pos) in infos.iter().zip(positions) {
        let start = info.cluster as usize;
        let end = starts
            .iter()
            .copied()
            .find(|&c| c > start)
            .unwrap_or(text.len());
        placed.push(Placed {
            id: info.glyph_id,
            advance: pos.x_advance as f32 / per_em,
            x_offset: pos.x_offset as f32 / per_em,
            y_offset: pos.y_offset as f32 / per_em,
            y_advance: pos.y_advance as f32 / per_em,
            text: start..end,
        });
    }
    signs_read_with_their_letter(&mut placed);
    let width = placed.iter().map(|g| g.advance).sum();
    let glyphs = placed
        .into_iter()
        .map(|g| {
            KrillaGlyph::new(
                GlyphId::new(g.id),
                g.advance,
                g.x_offset,
                g.y_offset,
                g.y_advance,
                g.text,
                None,
            )
        })
        .collect();
    Run {
        script,
        text: text.to_owned(),
        glyphs,
        width,
    }
}

/// A shaped glyph, in em.
struct Placed {
    id: u32,
    advance: f32,
    x_offset: f32,
    y_offset: f32,
    y_advance: f32,
    text: std::ops::Range<usize>,
}

/// A vowel sign drawn back over the letter before it (no advance, a leftward offset: "ু" in
/// "নতুন", "ै" after a conjunct) ends, for a text extractor, left of where the next letter
/// starts, and the gap reads as a space ("নতু ন"). The letter's glyph carries the sign's
/// text too, and the sign none: every pixel stays where it was, and the word reads whole.
fn signs_read_with_their_letter(glyphs: &mut [Placed]) {
    for i in 1..glyphs.len() {
        let (before, rest) = glyphs.split_at_mut(i);
        let (base, mark) = (&mut before[i - 1], &mut rest[0]);
        let follows = base.text.end == mark.text.start;
        if mark.advance == 0.0 && mark.x_offset < 0.0 && base.advance > 0.0 && follows {
            base.text = base.text.start..mark.text.end;
            mark.text = mark.text.end..mark.text.end;
        }
    }
}

/// Shapes a line of text into runs.
fn shape_line(text: &str) -> Vec<Run> {
    runs(text).into_iter().map(|(s, t)| shape(s, t)).collect()
}

/// Breaks `text` into lines no wider than `width` at `size`: at explicit line breaks, then
/// between words; a word wider than the line stands on a line of its own.
fn wrap(text: &str, size: f32, width: f32) -> Vec<Vec<Run>> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            let fits = shape_line(&candidate).iter().map(|r| r.width).sum::<f32>() * size <= width;
            if fits || line.is_empty() {
                line = candidate;
            } else {
                lines.push(shape_line(&line));
                line = word.to_owned();
            }
        }
        lines.push(shape_line(&line));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_by_script_and_keep_digits_with_their_neighbours() {
        let got: Vec<(Script, &str)> = runs("आवेदन संख्या: EK2612345678901 (নতুন)");
        assert_eq!(
            got,
            vec![
                (Script::Devanagari, "आवेदन संख्या: "),
                (Script::Latin, "EK2612345678901 ("),
                (Script::Bengali, "নতুন)"),
            ]
        );
    }

    #[test]
    fn devanagari_is_shaped_into_conjuncts() {
        // "क्ष" is one conjunct glyph in Noto Sans Devanagari, not three.
        let run = shape(Script::Devanagari, "क्ष");
        assert!(run.glyphs.len() < 3, "{:?}", run.glyphs.len());
        // The vowel sign of "कि" is drawn before the consonant it follows in the text.
        let run = shape(Script::Devanagari, "कि");
        assert_eq!(run.glyphs.len(), 2);
        assert!(run.width > 0.0);
    }

    #[test]
    fn long_text_wraps_within_the_width() {
        let text = "पासपोर्ट सेवा केंद्र पर अपॉइंटमेंट के समय ये दस्तावेज़ मूल रूप में लाएँ";
        let lines = wrap(text, 10.0, 120.0);
        assert!(lines.len() > 1);
        for line in &lines {
            let w: f32 = line.iter().map(|r| r.width).sum::<f32>() * 10.0;
            assert!(
                w <= 120.0
                    || line
                        .iter()
                        .map(|r| r.text.split(' ').count())
                        .sum::<usize>()
                        == 1
            );
        }
    }

    #[test]
    fn reordered_glyphs_keep_valid_text_ranges() {
        // Bengali's i-kar and Devanagari's reph are drawn away from where they are typed.
        // A sign drawn back over its letter carries no text of its own (the letter carries
        // both). Every character is carried exactly once.
        for text in ["অমিত কুমার", "पासपोर्ट", "क्षत्रिय", "কিছু", "নতুন", "ट्रैकिंग"]
        {
            for run in shape_line(text) {
                let mut ranges: Vec<_> = run
                    .glyphs
                    .iter()
                    .map(krilla::text::Glyph::text_range)
                    .filter(|r| !r.is_empty())
                    .collect();
                ranges.sort_by_key(|r| r.start);
                ranges.dedup();
                let mut at = 0;
                for r in &ranges {
                    assert_eq!(r.start, at, "{text}: {ranges:?}");
                    at = r.end;
                }
                assert_eq!(at, run.text.len(), "{text}: {ranges:?}");
            }
        }
    }

    /// The text a reader extracts is the text written (poppler's `pdftotext`, which `.ci/run`
    /// installs), word for word in Hindi and Bengali.
    #[test]
    fn extracted_text_reads_as_written() {
        let words = "आशा कुमारी पासपोर्ट सेवा केंद्र स्कैन क्षत्रिय ट्रैकिंग अपॉइंटमेंट শুল্ক অমিত কুমার দাস পাসপোর্ট নতুন";
        let pdf = Sheet::new("रसीद", "hi").text(words).render().expect("pdf");
        let dir = std::env::temp_dir().join(format!("ekdwar-pdf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("words.pdf");
        std::fs::write(&file, pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext (apt-get install poppler-utils)");
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>().join(" "),
            format!("रसीद {words}")
        );
    }

    #[test]
    fn a_sheet_renders_to_a_pdf() {
        let pdf = Sheet::new("Receipt", "en")
            .heading("Application")
            .row("Reference", "EK2612345678901")
            .text("Bring the documents.")
            .qr("https://example.org/verify/abc", "Scan to verify")
            .render()
            .expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
