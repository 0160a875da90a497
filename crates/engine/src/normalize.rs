//! Text normalization: the first stage of the pipeline. It rewrites raw user text (e-mails,
//! articles, notes) so that the G2P (misaki-rs) reads it the way a person would: URLs and e-mail
//! addresses, phone numbers, dates, clock times, money (read as a person reads a price), versions, units,
//! decades, fractions, ranges and a few abbreviations that misaki mangles or cannot read. It
//! deliberately leaves alone what misaki already reads well (plain numbers, years, ordinals, percentages, "Dr.", "e.g.", curly quotes, dashes), so
//! misaki's own output stays the reference. Whitespace is collapsed and control characters are
//! dropped, but newlines are kept: a later stage splits on them. Every pass is a single regex
//! scan (compiled once), so the whole function is linear in the input and never panics.

use regex::{Captures, Regex};
use std::sync::LazyLock;

// ------------------------------------------------------------------------------------------
// Word tables (the one place for names, units and abbreviations)
// ------------------------------------------------------------------------------------------

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Month abbreviations and their month number (1-based).
const MONTH_ABBREVIATIONS: &[(&str, usize)] = &[
    ("Jan", 1),
    ("Feb", 2),
    ("Mar", 3),
    ("Apr", 4),
    ("Jun", 6),
    ("Jul", 7),
    ("Aug", 8),
    ("Sep", 9),
    ("Sept", 9),
    ("Oct", 10),
    ("Nov", 11),
    ("Dec", 12),
];

const ONES: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// Plural decade names by tens digit ("the 1990s" → "19 nineties").
const DECADES: [&str; 10] = [
    "hundreds",
    "tens",
    "twenties",
    "thirties",
    "forties",
    "fifties",
    "sixties",
    "seventies",
    "eighties",
    "nineties",
];

/// Fraction denominators 2..=10 as (singular, plural); indices 0 and 1 are unused.
const DENOMINATORS: [(&str, &str); 11] = [
    ("", ""),
    ("", ""),
    ("half", "halves"),
    ("third", "thirds"),
    ("quarter", "quarters"),
    ("fifth", "fifths"),
    ("sixth", "sixths"),
    ("seventh", "sevenths"),
    ("eighth", "eighths"),
    ("ninth", "ninths"),
    ("tenth", "tenths"),
];

/// Unicode vulgar fractions as (char, numerator, denominator).
const VULGAR_FRACTIONS: &[(char, usize, usize)] = &[
    ('½', 1, 2),
    ('⅓', 1, 3),
    ('⅔', 2, 3),
    ('¼', 1, 4),
    ('¾', 3, 4),
    ('⅕', 1, 5),
    ('⅛', 1, 8),
    ('⅜', 3, 8),
    ('⅝', 5, 8),
    ('⅞', 7, 8),
];

/// Currency symbols: (symbol, singular, plural, misaki reads plain amounts itself).
const CURRENCIES: &[(char, &str, &str, bool)] = &[
    ('$', "dollar", "dollars", true),
    ('€', "euro", "euros", true),
    ('£', "pound", "pounds", true),
    ('¥', "yen", "yen", false),
    ('₹', "rupee", "rupees", false),
];

/// Magnitude words and suffixes after an amount ("$5k", "£2bn", "€1.5 million").
const MAGNITUDES: &[(&str, &str)] = &[
    ("thousand", "thousand"),
    ("million", "million"),
    ("billion", "billion"),
    ("trillion", "trillion"),
    ("k", "thousand"),
    ("K", "thousand"),
    ("m", "million"),
    ("M", "million"),
    ("mn", "million"),
    ("MM", "million"),
    ("b", "billion"),
    ("B", "billion"),
    ("bn", "billion"),
    ("Bn", "billion"),
    ("tn", "trillion"),
];

/// A unit written after a number.
struct Unit {
    abbr: &'static str,
    singular: &'static str,
    plural: &'static str,
    /// Ambiguous single letters ("5 m", "5 s") count only when separated by a space.
    spaced_only: bool,
}

const fn unit(abbr: &'static str, singular: &'static str, plural: &'static str) -> Unit {
    Unit {
        abbr,
        singular,
        plural,
        spaced_only: false,
    }
}

const fn spaced_unit(abbr: &'static str, singular: &'static str, plural: &'static str) -> Unit {
    Unit {
        abbr,
        singular,
        plural,
        spaced_only: true,
    }
}

/// Units misaki cannot read. Data sizes (GB, MB, …) are left to misaki, which spells them.
const UNITS: &[Unit] = &[
    unit("km", "kilometer", "kilometers"),
    unit("cm", "centimeter", "centimeters"),
    unit("mm", "millimeter", "millimeters"),
    unit("µm", "micrometer", "micrometers"),
    unit("nm", "nanometer", "nanometers"),
    spaced_unit("m", "meter", "meters"),
    unit("mi", "mile", "miles"),
    unit("ft", "foot", "feet"),
    unit("yd", "yard", "yards"),
    unit("km²", "square kilometer", "square kilometers"),
    unit("m²", "square meter", "square meters"),
    unit("cm²", "square centimeter", "square centimeters"),
    unit("ft²", "square foot", "square feet"),
    unit("sq ft", "square foot", "square feet"),
    unit("m³", "cubic meter", "cubic meters"),
    unit("kg", "kilogram", "kilograms"),
    unit("g", "gram", "grams"),
    unit("mg", "milligram", "milligrams"),
    unit("µg", "microgram", "micrograms"),
    unit("lb", "pound", "pounds"),
    unit("lbs", "pound", "pounds"),
    unit("oz", "ounce", "ounces"),
    unit("ml", "milliliter", "milliliters"),
    unit("mL", "milliliter", "milliliters"),
    spaced_unit("L", "liter", "liters"),
    unit("mph", "mile per hour", "miles per hour"),
    unit("km/h", "kilometer per hour", "kilometers per hour"),
    unit("kph", "kilometer per hour", "kilometers per hour"),
    unit("m/s", "meter per second", "meters per second"),
    unit("Hz", "hertz", "hertz"),
    unit("kHz", "kilohertz", "kilohertz"),
    unit("MHz", "megahertz", "megahertz"),
    unit("GHz", "giga hertz", "giga hertz"),
    unit("ms", "millisecond", "milliseconds"),
    unit("µs", "microsecond", "microseconds"),
    unit("ns", "nanosecond", "nanoseconds"),
    spaced_unit("s", "second", "seconds"),
    unit("sec", "second", "seconds"),
    unit("secs", "second", "seconds"),
    unit("min", "minute", "minutes"),
    unit("mins", "minute", "minutes"),
    unit("h", "hour", "hours"),
    unit("hr", "hour", "hours"),
    unit("hrs", "hour", "hours"),
    unit("V", "volt", "volts"),
    unit("W", "watt", "watts"),
    unit("kW", "kilowatt", "kilowatts"),
    unit("kWh", "kilowatt hour", "kilowatt hours"),
    unit("mA", "milliamp", "milliamps"),
    unit("mAh", "milliamp hour", "milliamp hours"),
    unit("kbps", "kilobit per second", "kilobits per second"),
    unit("Mbps", "megabit per second", "megabits per second"),
    unit("Gbps", "gigabit per second", "gigabits per second"),
    unit("fps", "frame per second", "frames per second"),
    unit("°C", "degree Celsius", "degrees Celsius"),
    unit("° C", "degree Celsius", "degrees Celsius"),
    unit("℃", "degree Celsius", "degrees Celsius"),
    unit("°F", "degree Fahrenheit", "degrees Fahrenheit"),
    unit("° F", "degree Fahrenheit", "degrees Fahrenheit"),
    unit("℉", "degree Fahrenheit", "degrees Fahrenheit"),
    unit("°", "degree", "degrees"),
];

/// How a dotted abbreviation is expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AbbrKind {
    /// Before a capitalized name ("Mt. Everest"); left alone otherwise.
    Title,
    /// Ends a name or phrase ("Acme Inc."); the period is kept where a sentence may end.
    Trailing,
    /// Before a number ("Fig. 3"); left alone otherwise.
    BeforeNumber,
    /// An ambiguous weekday ("Sun.", "Sat."): only in a list or before a date.
    Weekday,
}

/// Abbreviations misaki does not read (it already handles Dr., Mr., Mrs., Ms., Prof., e.g.,
/// i.e., etc., vs. and No.). "St." is decided separately (Saint or Street).
const ABBREVIATIONS: &[(&str, &str, AbbrKind)] = &[
    ("Mt", "Mount", AbbrKind::Title),
    ("Ft", "Fort", AbbrKind::Title),
    ("Capt", "Captain", AbbrKind::Title),
    ("Sgt", "Sergeant", AbbrKind::Title),
    ("Lt", "Lieutenant", AbbrKind::Title),
    ("Col", "Colonel", AbbrKind::Title),
    ("Gen", "General", AbbrKind::Title),
    ("Gov", "Governor", AbbrKind::Title),
    ("Rev", "Reverend", AbbrKind::Title),
    ("Pres", "President", AbbrKind::Title),
    ("Sen", "Senator", AbbrKind::Title),
    ("Rep", "Representative", AbbrKind::Title),
    ("Hon", "Honorable", AbbrKind::Title),
    ("Jr", "Junior", AbbrKind::Trailing),
    ("Sr", "Senior", AbbrKind::Trailing),
    ("Inc", "Incorporated", AbbrKind::Trailing),
    ("Ltd", "Limited", AbbrKind::Trailing),
    ("Corp", "Corporation", AbbrKind::Trailing),
    ("Co", "Company", AbbrKind::Trailing),
    ("Bros", "Brothers", AbbrKind::Trailing),
    ("Ave", "Avenue", AbbrKind::Trailing),
    ("Blvd", "Boulevard", AbbrKind::Trailing),
    ("Rd", "Road", AbbrKind::Trailing),
    ("Hwy", "Highway", AbbrKind::Trailing),
    ("Dept", "Department", AbbrKind::Trailing),
    ("Univ", "University", AbbrKind::Trailing),
    ("approx", "approximately", AbbrKind::Trailing),
    ("Approx", "Approximately", AbbrKind::Trailing),
    ("Mon", "Monday", AbbrKind::Weekday),
    ("Tue", "Tuesday", AbbrKind::Trailing),
    ("Tues", "Tuesday", AbbrKind::Trailing),
    ("Wed", "Wednesday", AbbrKind::Weekday),
    ("Thu", "Thursday", AbbrKind::Trailing),
    ("Thur", "Thursday", AbbrKind::Trailing),
    ("Thurs", "Thursday", AbbrKind::Trailing),
    ("Fri", "Friday", AbbrKind::Trailing),
    ("Sat", "Saturday", AbbrKind::Weekday),
    ("Sun", "Sunday", AbbrKind::Weekday),
    ("Fig", "Figure", AbbrKind::BeforeNumber),
    ("fig", "figure", AbbrKind::BeforeNumber),
    ("Vol", "Volume", AbbrKind::BeforeNumber),
    ("vol", "volume", AbbrKind::BeforeNumber),
    ("p", "page", AbbrKind::BeforeNumber),
    ("pp", "pages", AbbrKind::BeforeNumber),
    ("Ch", "Chapter", AbbrKind::BeforeNumber),
    ("ch", "chapter", AbbrKind::BeforeNumber),
    ("Eq", "Equation", AbbrKind::BeforeNumber),
    ("ca", "circa", AbbrKind::BeforeNumber),
];

/// Capitalized words before "St. Name" that are not a street name ("The St. Lawrence").
const NOT_STREET_NAMES: &[&str] = &[
    "The", "A", "An", "In", "On", "At", "To", "From", "Of", "And", "Near", "Visit", "By", "For",
    "With", "Via",
];

/// Top-level domains recognized in bare host names ("example.com"). Lower case only, so
/// "horizontally.The" is not a URL.
const TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "mil", "int", "io", "co", "ai", "app", "dev", "info", "biz",
    "me", "tv", "us", "uk", "ca", "au", "de", "fr", "es", "it", "nl", "se", "no", "ch", "eu", "jp",
    "cn", "in", "ru", "br", "ly", "gg", "xyz", "rs", "sh", "so", "fm", "ie", "nz", "at", "be",
    "dk", "fi", "pl", "cz", "pt", "gr", "kr", "tech", "online", "site", "blog", "news", "cloud",
    "page",
];

/// Two-letter domains said as words rather than spelled.
const WORD_TLDS: &[&str] = &["co", "me", "so", "sh"];

/// Names after which "3.11" is a version ("three point eleven"), not a decimal.
const VERSIONED_NAMES: &[&str] = &[
    "version",
    "Version",
    "ver",
    "release",
    "Release",
    "Python",
    "Java",
    "Rust",
    "Ruby",
    "Perl",
    "PHP",
    "Node",
    "Kotlin",
    "Swift",
    "Scala",
    "Julia",
    "Lua",
    "Go",
    "Windows",
    "macOS",
    "OS",
    "iOS",
    "Android",
    "Ubuntu",
    "Debian",
    "Fedora",
    "Linux",
    "Firefox",
    "Chrome",
    "Safari",
    "Unicode",
    "HTTP",
    "TLS",
    "SSL",
    "USB",
    "Bluetooth",
    "GCC",
    "LLVM",
    "Qt",
    "GTK",
    "Django",
    "Rails",
    "React",
    "Angular",
    "Vue",
    "TypeScript",
    "Docker",
    "Kubernetes",
    "PostgreSQL",
    "MySQL",
    "SQLite",
    "Redis",
    "OpenSSL",
    "Gradle",
    "Maven",
    "Xcode",
];

// ------------------------------------------------------------------------------------------
// Entry point
// ------------------------------------------------------------------------------------------

/// Rewrites text so that the G2P (misaki-rs) reads it the way a person would.
pub fn normalize(text: &str) -> String {
    const PASSES: &[fn(&str) -> String] = &[
        urls_and_emails,
        phone_numbers,
        dates,
        times,
        money,
        versions,
        units,
        decades,
        fractions,
        ranges_and_symbols,
        abbreviations,
    ];
    let mut s = clean(text);
    for pass in PASSES {
        s = pass(&s);
    }
    collapse_spaces(&s)
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/// Like `Regex::replace_all`, but the closure also sees the text before and after the match
/// (a stand-in for look-around) and may return `None` to keep the match as it is.
fn replace_with(
    re: &Regex,
    text: &str,
    mut f: impl FnMut(&Captures, &str, &str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        match f(&caps, &text[..m.start()], &text[m.end()..]) {
            Some(r) => out.push_str(&r),
            None => out.push_str(m.as_str()),
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

fn group<'t>(caps: &Captures<'t>, name: &str) -> &'t str {
    caps.name(name).map_or("", |m| m.as_str())
}

/// Builds an alternation of literal words, longest first (so "kWh" wins over "kW").
fn alternation<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let mut words: Vec<&str> = words.into_iter().collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.dedup();
    words
        .iter()
        .map(|w| regex::escape(w))
        .collect::<Vec<_>>()
        .join("|")
}

fn regex(pattern: &str) -> Regex {
    // ASCII word boundaries keep every regex on the fast DFA engines for non-ASCII text.
    let pattern = pattern.replace(r"\b", r"(?-u:\b)");
    // Patterns are fixed at compile time and covered by tests; a failure is a programming error.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("bad normalizer regex {pattern}: {e}"))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The last character before a match is not part of a word, number or dotted token.
fn free_before(before: &str) -> bool {
    !matches!(before.chars().next_back(), Some(c) if is_word_char(c) || c == '.' || c == '/')
}

/// The first character after a match does not continue a word or number.
fn free_after(after: &str) -> bool {
    let mut it = after.chars();
    match it.next() {
        Some(c) if is_word_char(c) || c == '/' => false,
        Some('.' | ',') => !matches!(it.next(), Some(c) if c.is_ascii_digit()),
        _ => true,
    }
}

/// A sentence may end right after the match: end of text, a newline, or a capitalized word.
fn sentence_end_follows(after: &str) -> bool {
    let mut it = after.chars();
    match it.next() {
        None | Some('\n') => true,
        Some(' ') => matches!(it.next(), Some(c) if c.is_uppercase()),
        _ => false,
    }
}

fn parse(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.parse().ok()
}

/// "4567" → "4 5 6 7".
fn spell_digits(s: &str) -> String {
    let digits: Vec<String> = s
        .chars()
        .filter(char::is_ascii_digit)
        .map(String::from)
        .collect();
    digits.join(" ")
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "December 25th, 2023" (year optional).
fn spoken_date(month: usize, day: usize, year: Option<&str>) -> Option<String> {
    let name = MONTHS.get(month.checked_sub(1)?)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    Some(match year {
        Some(y) => format!("{name} {}, {y}", ordinal(day)),
        None => format!("{name} {}", ordinal(day)),
    })
}

// ------------------------------------------------------------------------------------------
// Passes
// ------------------------------------------------------------------------------------------

/// Drops control and zero-width characters, maps exotic spaces, hyphens and minus signs to
/// ASCII, turns CR/LF variants into '\n', and trims spaces around newlines.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\u{2028}' | '\u{2029}' | '\u{0085}' => out.push('\n'),
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {}
            '\u{2010}' | '\u{2011}' | '\u{2212}' => out.push('-'),
            c if c.is_whitespace() => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Collapses runs of spaces, trims spaces around newlines and at both ends.
fn collapse_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut first = true;
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            if !first {
                out.push(' ');
            }
            out.push_str(word);
            first = false;
        }
    }
    out
}

// ---- URLs and e-mail addresses --------------------------------------------------------------

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"[A-Za-z0-9][A-Za-z0-9._%+-]*@",
        r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,})\b",
    ))
});

static URL: LazyLock<Regex> = LazyLock::new(|| {
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
    regex(&format!(
        concat!(
            r#"(?:(?:https?|ftp)://|www\.)[^\s<>"'()\[\]{{}}]+"#,
            r#"|{label}(?:\.{label})*\.(?:{tlds})\b(?::[0-9]+)?(?:/[^\s<>"'()\[\]{{}}]*)?"#,
        ),
        label = label,
        tlds = alternation(TLDS.iter().copied()),
    ))
});

/// Path segments read out at most; the rest of a long URL is dropped.
const MAX_URL_SEGMENTS: usize = 3;
/// Longer path segments (ids, hashes) end the spoken path.
const MAX_URL_SEGMENT_LEN: usize = 24;

fn urls_and_emails(text: &str) -> String {
    let text = replace_with(&EMAIL, text, |caps, before, _| {
        if !free_before(before) {
            return None;
        }
        let whole = caps.get(0)?.as_str();
        let local = whole.split('@').next()?;
        // The pause before "at" keeps it from running into the name ("support at" → "supported").
        Some(format!(
            "{}, at {}",
            spoken_url_part(local),
            spoken_host(group(caps, "host"))
        ))
    });
    replace_with(&URL, &text, |caps, before, _| {
        if !free_before(before) || before.ends_with('@') {
            return None;
        }
        let whole = caps.get(0)?.as_str();
        // Trailing punctuation belongs to the sentence, not the URL.
        let url = whole.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let tail = &whole[url.len()..];
        Some(format!("{}{tail}", spoken_url(url)))
    })
}

/// "https://www.rust-lang.org/learn?x=1" → "rust dash lang dot org slash learn".
fn spoken_url(url: &str) -> String {
    let url = url.split_once("://").map_or(url, |(_, rest)| rest);
    let url = url.strip_prefix("www.").unwrap_or(url);
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let mut parts = url.split('/');
    let host_port = parts.next().unwrap_or("");
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    let mut out = spoken_host(host);
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        out.push_str(" colon ");
        out.push_str(&spell_digits(p));
    }
    for segment in parts.filter(|s| !s.is_empty()).take(MAX_URL_SEGMENTS) {
        if segment.len() > MAX_URL_SEGMENT_LEN {
            break;
        }
        out.push_str(" slash ");
        out.push_str(&spoken_url_part(segment));
    }
    out
}

/// "mail.example.co.uk" → "mail dot example dot co dot UK".
fn spoken_host(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let last = labels.len().saturating_sub(1);
    let spoken: Vec<String> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let lower = label.to_ascii_lowercase();
            if i == last && i > 0 && lower.len() == 2 && !WORD_TLDS.contains(&lower.as_str()) {
                lower.to_ascii_uppercase()
            } else if i == last && lower == "edu" {
                "E D U".to_string()
            } else {
                spoken_url_part(label)
            }
        })
        .collect();
    spoken.join(" dot ")
}

/// Reads the punctuation inside a URL piece and spaces its digits: "v2_beta-1" →
/// "v 2 underscore beta dash 1".
fn spoken_url_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len() * 2);
    for c in part.chars() {
        let word = match c {
            '.' => " dot ",
            '-' => " dash ",
            '_' => " underscore ",
            '+' => " plus ",
            '~' => " tilde ",
            '=' => " equals ",
            '%' => " percent ",
            '&' => " and ",
            c if c.is_ascii_digit() => {
                out.push(' ');
                out.push(c);
                out.push(' ');
                continue;
            }
            c => {
                out.push(c);
                continue;
            }
        };
        out.push_str(word);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---- Phone numbers --------------------------------------------------------------------------

static PHONE_NANP: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?P<cc>\+[0-9]{1,3}[ .-]?|1[ .-])?",
        r"(?:\((?P<a1>[0-9]{3})\)|(?P<a2>[0-9]{3}))[ .-]?",
        r"(?P<b>[0-9]{3})[ .-](?P<c>[0-9]{4})",
    ))
});

static PHONE_INTL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\+(?P<cc>[0-9]{1,3})(?P<rest>(?:[ .-][0-9]{2,5}){2,5})"));

/// "(555) 123-4567" → "5 5 5, 1 2 3, 4 5 6 7"; "+44 20 7946 0958" → "plus 4 4, 2 0, …".
fn phone_numbers(text: &str) -> String {
    let text = replace_with(&PHONE_NANP, text, |caps, before, after| {
        let cc = group(caps, "cc");
        let before_ok = if cc.is_empty() && group(caps, "a1").is_empty() {
            free_before(before) && !before.ends_with('-')
        } else {
            !matches!(before.chars().next_back(), Some(c) if is_word_char(c))
        };
        if !before_ok || !free_after(after) || after.starts_with('-') {
            return None;
        }
        let area = format!("{}{}", group(caps, "a1"), group(caps, "a2"));
        let mut groups = Vec::new();
        if !cc.is_empty() {
            let digits = spell_digits(cc);
            groups.push(if cc.starts_with('+') {
                format!("plus {digits}")
            } else {
                digits
            });
        }
        for g in [area.as_str(), group(caps, "b"), group(caps, "c")] {
            groups.push(spell_digits(g));
        }
        Some(groups.join(", "))
    });
    replace_with(&PHONE_INTL, &text, |caps, before, after| {
        if matches!(before.chars().next_back(), Some(c) if is_word_char(c)) || !free_after(after) {
            return None;
        }
        let mut groups = vec![format!("plus {}", spell_digits(group(caps, "cc")))];
        groups.extend(
            group(caps, "rest")
                .split([' ', '.', '-'])
                .filter(|g| !g.is_empty())
                .map(spell_digits),
        );
        Some(groups.join(", "))
    })
}

// ---- Dates ----------------------------------------------------------------------------------

static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})\b"));

static SLASH_DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"\b(?P<a>[0-9]{1,2})(?P<sep>[/.])(?P<b>[0-9]{1,2})",
        r"(?P<sep2>[/.])(?P<y>[0-9]{4}|[0-9]{2})\b",
    ))
});

static MONTH_ABBREVIATION: LazyLock<Regex> = LazyLock::new(|| {
    let names = alternation(MONTH_ABBREVIATIONS.iter().map(|(a, _)| *a));
    regex(&format!(r"\b(?P<abbr>{names})\b(?P<dot>\.)?"))
});

static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"\b(?P<d>[0-9]{{1,2}}) (?P<month>{months})\b(?:(?P<comma>,)? (?P<y>[0-9]{{4}})\b)?",
        months = MONTHS.join("|")
    ))
});

static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"\b(?P<month>{months}) (?P<d>[0-9]{{1,2}})\b",
        months = MONTHS.join("|")
    ))
});

fn month_number(name: &str) -> Option<usize> {
    MONTHS.iter().position(|m| *m == name).map(|i| i + 1)
}

/// ISO and numeric dates, day-month order and month abbreviations → "March 3rd, 2027".
fn dates(text: &str) -> String {
    let text = replace_with(&ISO_DATE, text, |caps, before, after| {
        if before.ends_with('-') || after.starts_with('-') {
            return None;
        }
        let (m, d) = (parse(group(caps, "m"))?, parse(group(caps, "d"))?);
        spoken_date(m, d, Some(group(caps, "y")))
    });
    let text = replace_with(&SLASH_DATE, &text, |caps, before, after| {
        let slash = group(caps, "sep") == "/";
        let dots = group(caps, "sep") == "." && group(caps, "sep2") == ".";
        if !(slash && group(caps, "sep2") == "/" || dots && group(caps, "y").len() == 4)
            || !free_before(before)
            || !free_after(after)
        {
            return None;
        }
        let (a, b) = (parse(group(caps, "a"))?, parse(group(caps, "b"))?);
        // US order (month/day) for slashes unless impossible; day.month for dots.
        let (month, day) = if slash && a <= 12 { (a, b) } else { (b, a) };
        let y = group(caps, "y");
        let year = match (y.len(), parse(y)?) {
            (2, yy) if yy < 50 => format!("20{y}"),
            (2, _) => format!("19{y}"),
            _ => y.to_string(),
        };
        spoken_date(month, day, Some(&year))
    });
    let text = replace_with(&MONTH_ABBREVIATION, &text, |caps, before, after| {
        let abbr = group(caps, "abbr");
        let month = MONTH_ABBREVIATIONS.iter().find(|(a, _)| *a == abbr)?.1;
        let name = MONTHS.get(month - 1)?;
        let dotted = !group(caps, "dot").is_empty();
        let digit_after = after
            .strip_prefix(' ')
            .is_some_and(|a| a.starts_with(|c: char| c.is_ascii_digit()));
        let digit_before = before
            .strip_suffix(' ')
            .is_some_and(|b| b.ends_with(|c: char| c.is_ascii_digit()));
        if digit_after || digit_before {
            Some((*name).to_string())
        } else if dotted {
            let period = if sentence_end_follows(after) { "." } else { "" };
            Some(format!("{name}{period}"))
        } else {
            None
        }
    });
    let text = replace_with(&DAY_MONTH, &text, |caps, before, _| {
        if !free_before(before) {
            return None;
        }
        let month = month_number(group(caps, "month"))?;
        let year = caps.name("y").map(|y| y.as_str());
        spoken_date(month, parse(group(caps, "d"))?, year)
    });
    replace_with(&MONTH_DAY, &text, |caps, _, after| {
        // "March 3" → "March 3rd", but not "March 3.5", "March 3:30" or "May 2020".
        if !free_after(after) || after.starts_with([':', '%']) {
            return None;
        }
        let month = month_number(group(caps, "month"))?;
        spoken_date(month, parse(group(caps, "d"))?, None)
    })
}

// ---- Clock times ----------------------------------------------------------------------------

static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"\b(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?",
        r"(?: ?(?P<ampm>[aApP]\.[mM]\.|[aApP][mM]\b))?",
    ))
});

static RATIO: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?P<a>[0-9]+):(?P<b>[0-9]+)\b"));

static BARE_AM_PM: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?P<h>[0-9]{1,2}) ?(?P<ampm>am|pm|AM|PM)\b"));

/// "9:30" → "9 30", "10:05" → "10 oh 5", "7:00" → "7 o'clock", "19:00" → "19 hundred",
/// "10am" → "10 AM"; other "a:b" → "a to b".
fn times(text: &str) -> String {
    let text = replace_with(&CLOCK, text, |caps, before, after| {
        if before.ends_with([':', '.']) || after.starts_with(':') || !free_after(after) {
            return None;
        }
        let (h, m) = (parse(group(caps, "h"))?, parse(group(caps, "m"))?);
        if h > 24 || m > 59 {
            return None;
        }
        let ampm = spoken_am_pm(group(caps, "ampm"));
        let mut out = match (h, m, ampm.is_empty()) {
            (_, 0, false) => h.to_string(),
            (0 | 24, 0, true) => "midnight".to_string(),
            (12, 0, true) => "12 noon".to_string(),
            (1..=11, 0, true) => format!("{h} o'clock"),
            (_, 0, true) => format!("{h} hundred"),
            (_, 1..=9, _) => format!("{h} oh {m}"),
            _ => format!("{h} {m}"),
        };
        if let Some(s) = caps
            .name("s")
            .and_then(|s| parse(s.as_str()))
            .filter(|s| *s > 0)
        {
            let unit = if s == 1 { "second" } else { "seconds" };
            out.push_str(&format!(" and {s} {unit}"));
        }
        if !ampm.is_empty() {
            out.push(' ');
            out.push_str(&ampm);
        }
        Some(out)
    });
    let text = replace_with(&RATIO, &text, |caps, before, after| {
        if before.ends_with([':', '.']) || after.starts_with(':') {
            return None;
        }
        Some(format!("{} to {}", group(caps, "a"), group(caps, "b")))
    });
    replace_with(&BARE_AM_PM, &text, |caps, before, _| {
        if !free_before(before) || before.ends_with(':') {
            return None;
        }
        let h = parse(group(caps, "h"))?;
        (1..=12)
            .contains(&h)
            .then(|| format!("{h} {}", group(caps, "ampm").to_ascii_uppercase()))
    })
}

/// Dotted forms ("a.m.") stay as written (misaki reads them); bare ones become "AM"/"PM".
fn spoken_am_pm(s: &str) -> String {
    if s.contains('.') {
        s.to_string()
    } else {
        s.to_ascii_uppercase()
    }
}

// ---- Money ----------------------------------------------------------------------------------

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    let symbols: String = CURRENCIES.iter().map(|c| c.0).collect();
    regex(&format!(
        concat!(
            r"(?P<neg>-)?(?P<cur>[{symbols}])(?P<neg2>-)?",
            r"(?P<int>[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9]+)(?:\.(?P<dec>[0-9]+))?",
            r"(?:(?P<sp> ?)(?P<mag>{mags})\b)?",
        ),
        symbols = symbols,
        mags = alternation(MAGNITUDES.iter().map(|m| m.0)),
    ))
});

static MONEY_POSTFIX: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?P<int>[0-9]+)(?:[.,](?P<dec>[0-9]{2}))? ?(?P<cur>[€£¥₹])"));

static BARE_MAGNITUDE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?P<num>[0-9]+(?:\.[0-9]+)?)(?P<mag>bn|mn|tn|M)\b"));

/// "$1.5 million" → "1.5 million dollars", "£2bn" → "2 billion pounds", "-$5" → "minus $5".
fn money(text: &str) -> String {
    let text = replace_with(&MONEY_POSTFIX, text, |caps, before, after| {
        if !free_before(before) || !free_after(after) {
            return None;
        }
        let dec = caps
            .name("dec")
            .map_or(String::new(), |d| format!(".{}", d.as_str()));
        Some(format!("{}{}{dec}", group(caps, "cur"), group(caps, "int")))
    });
    let text = replace_with(&MONEY, &text, |caps, before, _| {
        if matches!(before.chars().next_back(), Some(c) if is_word_char(c)) {
            return None;
        }
        let hyphen = caps.name("neg").is_some();
        let negative = hyphen && free_before(before) || caps.name("neg2").is_some();
        let keep_hyphen = if hyphen && !negative { "-" } else { "" };
        let symbol = group(caps, "cur").chars().next()?;
        let &(_, singular, plural, misaki_reads) = CURRENCIES.iter().find(|c| c.0 == symbol)?;
        let amount = match caps.name("dec") {
            Some(d) => format!("{}.{}", group(caps, "int"), d.as_str()),
            None => group(caps, "int").to_string(),
        };
        let minus = if negative { "minus " } else { "" };
        let mag = group(caps, "mag");
        let magnitude = MAGNITUDES.iter().find(|m| m.0 == mag).map(|m| m.1);
        // A spaced single letter ("$5 m") is not a magnitude; a word must be spaced or not.
        let magnitude = magnitude.filter(|_| group(caps, "sp").is_empty() || mag.len() > 2);
        let rest = if magnitude.is_none() {
            format!("{}{mag}", group(caps, "sp"))
        } else {
            String::new()
        };
        let spoken = match magnitude {
            Some(word) => format!("{minus}{amount} {word} {plural}"),
            None if misaki_reads => {
                let dec = caps.name("dec").map(|d| d.as_str());
                match spoken_amount(group(caps, "int"), dec, symbol, singular, plural) {
                    Some(words) => format!("{minus}{words}{rest}"),
                    None if negative => format!("minus {symbol}{amount}{rest}"),
                    None => return None,
                }
            }
            None => {
                let unit = if amount == "1" { singular } else { plural };
                format!("{minus}{amount} {unit}{rest}")
            }
        };
        Some(format!("{keep_hyphen}{spoken}"))
    });
    replace_with(&BARE_MAGNITUDE, &text, |caps, before, _| {
        if !free_before(before) {
            return None;
        }
        let mag = MAGNITUDES.iter().find(|m| m.0 == group(caps, "mag"))?.1;
        Some(format!("{} {mag}", group(caps, "num")))
    })
}

/// An amount in words, the way a person reads a price: "$1,249.99" → "one thousand, two hundred
/// forty-nine dollars and ninety-nine cents". misaki reads prices itself but says the tens and
/// units as separate stressed words ("forty nine"), which sounds like a list of digits; the
/// hyphenated compound and the pause after "thousand" are how a person says it. `None` for
/// amounts that do not read as money with cents (three decimals, absurdly large numbers).
fn spoken_amount(
    int: &str,
    dec: Option<&str>,
    symbol: char,
    singular: &str,
    plural: &str,
) -> Option<String> {
    let whole: u64 = int
        .replace(',', "")
        .parse()
        .ok()
        .filter(|&n| n < 1_000_000_000_000_000)?;
    let cents: u64 = match dec {
        None => 0,
        Some(d) if d.len() == 2 => d.parse().ok()?,
        Some(d) if d.len() == 1 => d.parse::<u64>().ok()? * 10,
        Some(_) => return None,
    };
    let words = |n: u64| loqui_g2p::numbers::cardinal(n).replace(" and ", " ");
    let (cent, cents_word) = if symbol == '£' {
        ("penny", "pence")
    } else {
        ("cent", "cents")
    };
    let main = format!(
        "{} {}",
        words(whole),
        if whole == 1 { singular } else { plural }
    );
    let sub = format!(
        "{} {}",
        words(cents),
        if cents == 1 { cent } else { cents_word }
    );
    Some(match (whole, cents) {
        (_, 0) => main,
        (0, _) => sub,
        _ => format!("{main} and {sub}"),
    })
}

// ---- Versions and IP addresses --------------------------------------------------------------

static V_VERSION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[vV](?P<v>[0-9]+(?:\.[0-9]+)+)\b|\bv(?P<major>[0-9]+)\b"));

static NAMED_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"\b(?P<name>{names})\.? (?P<v>[0-9]+(?:\.[0-9]+)+)\b",
        names = alternation(VERSIONED_NAMES.iter().copied())
    ))
});

static DOTTED_NUMBER: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[0-9]+(?:\.[0-9]+){2,}\b"));

/// "v1.2.3" → "version 1 point 2 point 3", "Python 3.11" → "Python 3 point 11",
/// "192.168.1.1" → "192 dot 168 dot 1 dot 1".
fn versions(text: &str) -> String {
    let text = replace_with(&V_VERSION, text, |caps, _, after| {
        if !free_after(after) {
            return None;
        }
        let v = caps.name("v").or_else(|| caps.name("major"))?.as_str();
        Some(format!("version {}", spoken_version(v)))
    });
    let text = replace_with(&NAMED_VERSION, &text, |caps, _, after| {
        if !free_after(after) {
            return None;
        }
        let name = match group(caps, "name") {
            "ver" => "version",
            n => n,
        };
        Some(format!("{name} {}", spoken_version(group(caps, "v"))))
    });
    replace_with(&DOTTED_NUMBER, &text, |caps, before, after| {
        if !free_before(before) || !free_after(after) {
            return None;
        }
        let v = caps.get(0)?.as_str();
        let parts: Vec<&str> = v.split('.').collect();
        let is_ip = parts.len() == 4 && parts.iter().all(|p| parse(p).is_some_and(|n| n <= 255));
        Some(if is_ip {
            parts.join(" dot ")
        } else {
            spoken_version(v)
        })
    })
}

/// "3.11" → "3 point 11"; parts with a leading zero are read digit by digit ("3.04").
fn spoken_version(v: &str) -> String {
    let parts: Vec<String> = v
        .split('.')
        .map(|p| {
            if p.len() > 1 && p.starts_with('0') {
                spell_digits(p)
            } else {
                p.to_string()
            }
        })
        .collect();
    parts.join(" point ")
}

// ---- Units ----------------------------------------------------------------------------------

static UNIT: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?P<neg>-)?\b(?P<num>[0-9]+(?:,[0-9]{{3}})*(?:\.[0-9]+)?)(?P<sp> ?)(?P<unit>{units})(?P<dot>\. [a-z])?",
        units = alternation(UNITS.iter().map(|u| u.abbr)),
    ))
});

/// "5 km" → "5 kilometers", "-5°C" → "minus 5 degrees Celsius", "1 lb" → "1 pound".
fn units(text: &str) -> String {
    replace_with(&UNIT, text, |caps, before, after| {
        let unit = UNITS.iter().find(|u| u.abbr == group(caps, "unit"))?;
        let spaced = !group(caps, "sp").is_empty();
        let ends_in_letter = unit.abbr.ends_with(char::is_alphabetic);
        if (unit.spaced_only && !spaced)
            || (ends_in_letter && caps.name("dot").is_none() && !free_after(after))
            || after.starts_with(['.', ','])
                && after[1..].starts_with(|c: char| c.is_alphanumeric())
            || after.starts_with('/')
        {
            return None;
        }
        // A hyphen after a number is a range ("10-20 km"), not a minus sign.
        let hyphen = caps.name("neg").is_some();
        let negative = hyphen && free_before(before);
        if !hyphen && !free_before(before) {
            return None;
        }
        let num = group(caps, "num");
        let word = if num == "1" {
            unit.singular
        } else {
            unit.plural
        };
        let minus = match (hyphen, negative) {
            (true, true) => "minus ",
            (true, false) => "-",
            _ => "",
        };
        // "6 ft. tall": a period inside the sentence only marked the abbreviation.
        let next = group(caps, "dot").trim_start_matches('.');
        Some(format!("{minus}{num} {word}{next}"))
    })
}

// ---- Decades --------------------------------------------------------------------------------

static DECADE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"['’]?\b(?P<century>[0-9]{2})?(?P<tens>[0-9])0(?:['’]?s)\b"));

/// "1990s" → "19 nineties", "2000s" → "2 thousands", "'90s" / "90s" → "nineties".
fn decades(text: &str) -> String {
    replace_with(&DECADE, text, |caps, before, _| {
        if matches!(before.chars().next_back(), Some(c) if is_word_char(c) || c == '.' || c == ',')
        {
            return None;
        }
        let tens = parse(group(caps, "tens"))?;
        match caps.name("century").map(|c| c.as_str()) {
            Some(century) => {
                let c = parse(century)?;
                Some(match tens {
                    0 if c.is_multiple_of(10) => format!("{} thousands", c / 10),
                    _ => format!("{c} {}", DECADES.get(tens)?),
                })
            }
            None if tens > 0 => Some(DECADES.get(tens)?.to_string()),
            None => None,
        }
    })
}

// ---- Fractions ------------------------------------------------------------------------------

static FRACTION: LazyLock<Regex> = LazyLock::new(|| {
    let vulgar: String = VULGAR_FRACTIONS.iter().map(|f| f.0).collect();
    regex(&format!(
        r"\b(?P<n>[0-9])/(?P<d>[0-9]{{1,2}})\b|(?P<v>[{vulgar}])"
    ))
});

/// "1/2" → "one half", "3/4" → "three quarters", "2 1/2" → "2 and one half", "½" likewise.
/// Dates and "24/7" have numerators too large to qualify and are left alone.
fn fractions(text: &str) -> String {
    replace_with(&FRACTION, text, |caps, before, after| {
        let (n, d) = match caps.name("v").and_then(|v| v.as_str().chars().next()) {
            Some(v) => VULGAR_FRACTIONS
                .iter()
                .find(|f| f.0 == v)
                .map(|f| (f.1, f.2))?,
            None => {
                if before.ends_with(['/', '.', ',']) || after.starts_with(['/', '.']) {
                    return None;
                }
                (parse(group(caps, "n"))?, parse(group(caps, "d"))?)
            }
        };
        if !(2..=10).contains(&d) || n == 0 || n >= d {
            return None;
        }
        let &(singular, plural) = DENOMINATORS.get(d)?;
        let spoken = format!(
            "{} {}",
            ONES.get(n)?,
            if n == 1 { singular } else { plural }
        );
        let trimmed = before.trim_end_matches(' ');
        let after_number = trimmed.ends_with(|c: char| c.is_ascii_digit());
        let lead = if !after_number {
            ""
        } else if before.ends_with(' ') {
            "and "
        } else {
            " and "
        };
        Some(format!("{lead}{spoken}"))
    })
}

// ---- Ranges, hashtags, multipliers ----------------------------------------------------------

static RANGE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?P<a>[0-9]+(?:\.[0-9]+)?)(?: ?– ?|-)(?P<b>[0-9]+(?:\.[0-9]+)?)\b"));

static HASH: LazyLock<Regex> =
    LazyLock::new(|| regex(r"#(?:(?P<num>[0-9]+)\b|(?P<tag>[A-Za-z][A-Za-z0-9_]*))"));

static DIMENSIONS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?P<a>[0-9]+(?:\.[0-9]+)?) ?[x×] ?(?P<b>[0-9]+(?:\.[0-9]+)?)\b"));

static TIMES: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?P<a>[0-9]+(?:\.[0-9]+)?)[x×]|[x×](?P<b>[0-9]{1,2})"));

static SHARP: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?P<note>[A-G])#"));

static NEGATIVE: LazyLock<Regex> = LazyLock::new(|| regex(r"-(?P<n>[0-9])"));

static WITH: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[wW]/(?P<o>o\b)?"));

static APPROX: LazyLock<Regex> = LazyLock::new(|| regex(r"~(?P<n>[0-9])"));

/// "10–20" / "1-7" → "10 to 20"; "-10" → "minus 10"; "C#" → "C sharp"; "#1" → "number 1";
/// "#rustlang" → "hashtag rustlang";
/// "1920x1080" → "1920 by 1080"; "3x" → "3 times"; "x2" → "times 2"; "w/" → "with";
/// "~5" → "about 5".
fn ranges_and_symbols(text: &str) -> String {
    let text = replace_with(&RANGE, text, |caps, before, after| {
        if before.ends_with(['-', '–', '/', '.', ',', '+', '#'])
            || after.starts_with(['-', '–', '/'])
            || !free_after(after)
        {
            return None;
        }
        Some(format!("{} to {}", group(caps, "a"), group(caps, "b")))
    });
    // misaki drops some negative numbers ("-10") entirely.
    let text = replace_with(&NEGATIVE, &text, |caps, before, _| {
        if !free_before(before) || before.ends_with(['-', '+', '=']) {
            return None;
        }
        Some(format!("minus {}", group(caps, "n")))
    });
    let text = replace_with(&SHARP, &text, |caps, before, after| {
        if !free_before(before) || !free_after(after) {
            return None;
        }
        Some(format!("{} sharp", group(caps, "note")))
    });
    let text = replace_with(&HASH, &text, |caps, before, _| {
        if matches!(before.chars().next_back(), Some(c) if is_word_char(c) || c == '&') {
            return None;
        }
        if let Some(n) = caps.name("num") {
            return Some(format!("number {}", n.as_str()));
        }
        Some(format!("hashtag {}", split_camel_case(group(caps, "tag"))))
    });
    let text = replace_with(&DIMENSIONS, &text, |caps, before, after| {
        if !free_before(before) || !free_after(after) {
            return None;
        }
        Some(format!("{} by {}", group(caps, "a"), group(caps, "b")))
    });
    let text = replace_with(&TIMES, &text, |caps, before, after| {
        if !free_before(before) || !free_after(after) {
            return None;
        }
        if let Some(a) = caps.name("a") {
            return Some(format!("{} times", a.as_str()));
        }
        let b = group(caps, "b");
        (parse(b)? <= 10).then(|| format!("times {b}"))
    });
    let text = replace_with(&WITH, &text, |caps, _, after| {
        let without = caps.name("o").is_some();
        if !without && after.starts_with(|c: char| !c.is_whitespace()) {
            return None;
        }
        Some(if without { "without" } else { "with" }.to_string())
    });
    replace_with(&APPROX, &text, |caps, before, _| {
        if !free_before(before) {
            return None;
        }
        Some(format!("about {}", group(caps, "n")))
    })
}

/// "ThrowbackThursday" → "Throwback Thursday".
fn split_camel_case(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len() + 4);
    let mut prev_lower = false;
    for c in tag.chars() {
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase();
        out.push(if c == '_' { ' ' } else { c });
    }
    out
}

// ---- Abbreviations --------------------------------------------------------------------------

static ABBREVIATION: LazyLock<Regex> = LazyLock::new(|| {
    let names = alternation(ABBREVIATIONS.iter().map(|a| a.0).chain(["St"]));
    regex(&format!(r"\b(?P<abbr>{names})\."))
});

/// Expands dotted abbreviations misaki does not know; "St." is "Saint" before a name and
/// "Street" after one.
fn abbreviations(text: &str) -> String {
    replace_with(&ABBREVIATION, text, |caps, before, after| {
        let abbr = group(caps, "abbr");
        let next_is_name = after
            .strip_prefix(' ')
            .is_some_and(|a| a.starts_with(char::is_uppercase));
        let next_is_number = after
            .strip_prefix(' ')
            .is_some_and(|a| a.starts_with(|c: char| c.is_ascii_digit()));
        let period = if sentence_end_follows(after) { "." } else { "" };
        let in_list = before.trim_end_matches(' ').ends_with(',');
        if abbr == "St" {
            let prev_word = before
                .trim_end_matches(' ')
                .rsplit([' ', '\n'])
                .next()
                .unwrap_or("");
            let after_name = prev_word
                .starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
                && !NOT_STREET_NAMES.contains(&prev_word);
            return Some(if next_is_name && !after_name {
                "Saint".to_string()
            } else {
                format!("Street{period}")
            });
        }
        let &(_, expansion, kind) = ABBREVIATIONS.iter().find(|a| a.0 == abbr)?;
        match kind {
            AbbrKind::Title if next_is_name => Some(expansion.to_string()),
            AbbrKind::BeforeNumber if next_is_number => Some(expansion.to_string()),
            AbbrKind::Trailing => Some(format!("{expansion}{period}")),
            AbbrKind::Weekday if in_list || next_is_number || after.starts_with(',') => {
                Some(format!("{expansion}{period}"))
            }
            _ => None,
        }
    })
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::normalize;

    fn check(cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            assert_eq!(normalize(input), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn leaves_what_misaki_reads() {
        check(&[
            (
                "NASA launched the probe in 1977.",
                "NASA launched the probe in 1977.",
            ),
            ("Growth was 15% and 2.5%.", "Growth was 15% and 2.5%."),
            (
                "He came 1st, 22nd and 103rd.",
                "He came 1st, 22nd and 103rd.",
            ),
            (
                "Dr. Smith met Mr. Jones, e.g. today, etc.",
                "Dr. Smith met Mr. Jones, e.g. today, etc.",
            ),
            (
                "“Hello,” she said — then left.",
                "“Hello,” she said — then left.",
            ),
            ("Chapter 12: The Return", "Chapter 12: The Return"),
            (
                "a 32-bit integer, 16 GB of RAM, COVID-19",
                "a 32-bit integer, 16 GB of RAM, COVID-19",
            ),
            (
                "The panes horizontally.The user",
                "The panes horizontally.The user",
            ),
            ("It is 300 meters.", "It is 300 meters."),
        ]);
    }

    #[test]
    fn money() {
        check(&[
            ("It costs $1.5 million.", "It costs 1.5 million dollars."),
            (
                "$5k and £2bn and €3 billion",
                "5 thousand dollars and 2 billion pounds and 3 billion euros",
            ),
            ("It costs -$5.", "It costs minus five dollars."),
            (
                "It costs $-5.50.",
                "It costs minus five dollars and fifty cents.",
            ),
            (
                "The invoice total is $1,249.99, due on March 3rd, 2027.",
                "The invoice total is one thousand, two hundred forty-nine dollars and ninety-nine \
                 cents, due on March 3rd, 2027.",
            ),
            (
                "$1 and £0.01 and €2.5",
                "one dollar and one penny and two euros and fifty cents",
            ),
            ("¥500 and ₹1", "500 yen and 1 rupee"),
            ("It is 20 € now.", "It is twenty euros now."),
            (
                "A $5m deal and $2.5M",
                "A 5 million dollars deal and 2.5 million dollars",
            ),
            ("Revenue hit 3bn.", "Revenue hit 3 billion."),
        ]);
    }

    #[test]
    fn dates() {
        check(&[
            ("Due 12/25/2023.", "Due December 25th, 2023."),
            ("Due 2023-12-25.", "Due December 25th, 2023."),
            ("On 3 March 2027 we met.", "On March 3rd, 2027 we met."),
            (
                "See you Jan. 5 or Feb 7.",
                "See you January 5th or February 7th.",
            ),
            ("Since March 3, 2027.", "Since March 3rd, 2027."),
            ("Due 25/12/23.", "Due December 25th, 2023."),
            ("Due 25.12.2023.", "Due December 25th, 2023."),
            ("In Sept. The end.", "In September. The end."),
            ("In May 2020 it rained.", "In May 2020 it rained."),
        ]);
    }

    #[test]
    fn times() {
        check(&[
            ("At 9:30.", "At 9 30."),
            ("At 10:45 a.m. sharp", "At 10 45 a.m. sharp"),
            ("At 7pm or 10 am.", "At 7 PM or 10 AM."),
            ("At 19:05 or 10:05.", "At 19 oh 5 or 10 oh 5."),
            (
                "At 12:00 or 7:00 or 19:00 or 00:00.",
                "At 12 noon or 7 o'clock or 19 hundred or midnight.",
            ),
            ("At 10:00 PM", "At 10 PM"),
            ("It was 10:30:15.", "It was 10 30 and 15 seconds."),
            ("A 16:9 screen won 3:1.", "A 16 to 9 screen won 3 to 1."),
            ("At 3:45pm and 9:05PM.", "At 3 45 PM and 9 oh 5 PM."),
        ]);
    }

    #[test]
    fn phone_numbers() {
        check(&[
            ("Call (555) 123-4567.", "Call 5 5 5, 1 2 3, 4 5 6 7."),
            ("Call 555-123-4567 now", "Call 5 5 5, 1 2 3, 4 5 6 7 now"),
            ("Call +1 555 123 4567", "Call plus 1, 5 5 5, 1 2 3, 4 5 6 7"),
            ("Call 1-800-555-0199", "Call 1, 8 0 0, 5 5 5, 0 1 9 9"),
            (
                "Call +44 20 7946 0958.",
                "Call plus 4 4, 2 0, 7 9 4 6, 0 9 5 8.",
            ),
        ]);
    }

    #[test]
    fn versions() {
        check(&[
            ("Use v1.2.3 now", "Use version 1 point 2 point 3 now"),
            ("Use version 2.0.1.", "Use version 2 point 0 point 1."),
            ("Python 3.11 is out.", "Python 3 point 11 is out."),
            ("The v2 API", "The version 2 API"),
            ("Ping 192.168.1.1 now", "Ping 192 dot 168 dot 1 dot 1 now"),
            ("Windows prior to 6.0.", "Windows prior to 6.0."),
        ]);
    }

    #[test]
    fn units() {
        check(&[
            (
                "It is 5 km and 1 km.",
                "It is 5 kilometers and 1 kilometer.",
            ),
            (
                "Add 3 m of rope and 2 cm.",
                "Add 3 meters of rope and 2 centimeters.",
            ),
            (
                "It weighs 5kg, 4 lbs and 8 oz.",
                "It weighs 5 kilograms, 4 pounds and 8 ounces.",
            ),
            (
                "Drive 60 mph or 100 km/h.",
                "Drive 60 miles per hour or 100 kilometers per hour.",
            ),
            (
                "It is -5°C or 70 °F.",
                "It is minus 5 degrees Celsius or 70 degrees Fahrenheit.",
            ),
            (
                "A 3.2 GHz chip in 20 ms and 5 s.",
                "A 3.2 giga hertz chip in 20 milliseconds and 5 seconds.",
            ),
            ("Hit 30° today.", "Hit 30 degrees today."),
            (
                "5 games and 3 mice and a 5m mark",
                "5 games and 3 mice and a 5m mark",
            ),
            ("10-20 km", "10 to 20 kilometers"),
            (
                "He is 6 ft. tall. It is 5 ft.",
                "He is 6 feet tall. It is 5 feet.",
            ),
        ]);
    }

    #[test]
    fn urls_and_emails() {
        check(&[
            (
                "Visit example.com/docs for more.",
                "Visit example dot com slash docs for more.",
            ),
            (
                "See https://www.rust-lang.org/learn.",
                "See rust dash lang dot org slash learn.",
            ),
            (
                "Mail support@example.org now.",
                "Mail support, at example dot org now.",
            ),
            (
                "Mail john_doe+news@mail.example.co.uk",
                "Mail john underscore doe plus news, at mail dot example dot co dot UK",
            ),
            (
                "See http://example.com/search?q=hello&lang=en ok",
                "See example dot com slash search ok",
            ),
            ("Go to web2.io/v3", "Go to web 2 dot IO slash v 3"),
            ("Call self.force now", "Call self.force now"),
        ]);
    }

    #[test]
    fn abbreviations() {
        check(&[
            (
                "St. Patrick lives on Main St. near here.",
                "Saint Patrick lives on Main Street near here.",
            ),
            (
                "We met on Main St. Then left.",
                "We met on Main Street. Then left.",
            ),
            (
                "Sam Jr. and Acme Inc. and Foo Ltd.",
                "Sam Junior and Acme Incorporated and Foo Limited.",
            ),
            (
                "It takes approx. 5 minutes.",
                "It takes approximately 5 minutes.",
            ),
            (
                "See Fig. 3 and vol. 2, p. 5.",
                "See Figure 3 and volume 2, page 5.",
            ),
            ("Mt. Everest is high.", "Mount Everest is high."),
            ("The St. Lawrence river", "The Saint Lawrence river"),
            ("I love the Sun. It is warm.", "I love the Sun. It is warm."),
            (
                "Meet Tue., Wed. or Fri.",
                "Meet Tuesday, Wednesday or Friday.",
            ),
        ]);
    }

    #[test]
    fn symbols_and_numbers() {
        check(&[
            (
                "Pages 10–20 and 1-7 days.",
                "Pages 10 to 20 and 1 to 7 days.",
            ),
            (
                "We are #1 on #ThrowbackThursday.",
                "We are number 1 on hashtag Throwback Thursday.",
            ),
            (
                "Take 1/2 cup, 3/4 of it, 2 1/2 and ½.",
                "Take one half cup, three quarters of it, 2 and one half and one half.",
            ),
            ("Open 24/7.", "Open 24/7."),
            (
                "A 1920x1080 screen, 3x faster, x2 speed, x86.",
                "A 1920 by 1080 screen, 3 times faster, times 2 speed, x86.",
            ),
            (
                "The 1990s, the '90s, the 80s, the 2000s.",
                "The 19 nineties, the nineties, the eighties, the 2 thousands.",
            ),
            (
                "Go w/ me, w/o you. Cost ~5 dollars.",
                "Go with me, without you. Cost about 5 dollars.",
            ),
            (
                "It is -10 degrees, 5-3=2.",
                "It is minus 10 degrees, 5 to 3=2.",
            ),
            ("Use C# or F#.", "Use C sharp or F sharp."),
            ("We sold 1.2M units.", "We sold 1.2 million units."),
        ]);
    }

    #[test]
    fn whitespace_and_control() {
        check(&[
            ("a  \t b\u{0}c\u{200B}d", "a b cd"),
            (
                "line one  \r\n  line two\rthree",
                "line one\nline two\nthree",
            ),
            ("para\n\nnext", "para\n\nnext"),
            ("a\u{00A0}b", "a b"),
        ]);
    }

    #[test]
    fn never_panics() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..300 {
            let bytes: Vec<u8> = (0..200)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Bias towards the characters the passes care about.
                    let table = b"0123456789$:/.-@#%x km C\xc2\xb0\xe2\x82\xac\xc2\xa3\n ";
                    if seed.is_multiple_of(3) {
                        (seed >> 8) as u8
                    } else {
                        table[(seed % table.len() as u64) as usize]
                    }
                })
                .collect();
            let _ = normalize(&String::from_utf8_lossy(&bytes));
        }
        for s in [
            "",
            " ",
            "\n",
            "😀👍🏽 日本語のテキスト e\u{301}\u{302}\u{303}",
            "$",
            "$.",
            "1:",
            "#",
            "@",
            "http://",
            "www.",
            "1/0",
            "0/0",
            "99999999999999999999999:99999999999999999999",
            "$99999999999999999999999999.9 billion",
            "12/99/2023 2023-99-99 99:99",
            "St.",
            "'0s 00s",
        ] {
            let _ = normalize(s);
        }
        let _ = normalize(&"a".repeat(10_000));
        let _ = normalize(&"1".repeat(10_000));
        let _ = normalize(&"example.com/".repeat(1_000));
    }

    #[test]
    fn large_input_is_fast() {
        let paragraph = "On March 3, 2027 at 9:30 a.m., Dr. Smith paid $1.5 million (about 15%) \
            for 5 km of road near Main St. — see example.com/docs or call 555-123-4567.\n";
        let text = paragraph.repeat(1_000_000 / paragraph.len() + 1);
        let start = std::time::Instant::now();
        let out = normalize(&text);
        assert!(out.len() > text.len() / 2);
        // Generous: debug builds are far slower than release.
        assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
    }
}
