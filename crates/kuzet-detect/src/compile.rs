//! From the Sigma AST (rsigma-parser's) to a condition tree over predicates, each predicate one Sigma field and
//! one compiled value. Field names are still Sigma's here; the engine binds them to event fields per logsource.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Detections, Modifier, Quantifier, SigmaString,
    SigmaValue, SpecialChar, StringPart,
};

use crate::matcher::{GlobPart, Matcher, NumOp, TextOp, TimePart, fold_into};

/// Compiled regexes larger than this are refused (a rule is data from outside; this bounds its memory). Unicode
/// classes are large: SigmaHQ's `\w{1,64}` compiles to about 2 MiB, so the bound leaves room for such rules.
pub(crate) const REGEX_SIZE_LIMIT: usize = 8 << 20;
/// `windash` expands every dash or slash that starts a flag into five characters; more flags than this in one
/// value would be thousands of variants.
const MAX_WINDASH_POSITIONS: usize = 4;

/// A condition tree over leaves `P`.
#[derive(Debug, Clone)]
pub(crate) enum Expr<P> {
    And(Vec<Expr<P>>),
    Or(Vec<Expr<P>>),
    Not(Box<Expr<P>>),
    /// At least `n` of the children (`2 of selection_*`).
    AtLeast(usize, Vec<Expr<P>>),
    Leaf(P),
    Const(bool),
}

impl<P> Expr<P> {
    pub(crate) fn try_map<Q, E>(self, f: &mut impl FnMut(P) -> Result<Q, E>) -> Result<Expr<Q>, E> {
        let all = |xs: Vec<Expr<P>>, f: &mut dyn FnMut(Expr<P>) -> Result<Expr<Q>, E>| {
            xs.into_iter().map(f).collect::<Result<Vec<_>, E>>()
        };
        Ok(match self {
            Expr::And(xs) => Expr::And(all(xs, &mut |x| x.try_map(f))?),
            Expr::Or(xs) => Expr::Or(all(xs, &mut |x| x.try_map(f))?),
            Expr::AtLeast(n, xs) => Expr::AtLeast(n, all(xs, &mut |x| x.try_map(f))?),
            Expr::Not(x) => Expr::Not(Box::new(x.try_map(f)?)),
            Expr::Leaf(p) => Expr::Leaf(f(p)?),
            Expr::Const(b) => Expr::Const(b),
        })
    }
}

/// Which event fields a predicate looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum FieldSel {
    /// A Sigma field name.
    Named(String),
    /// A `keywords` value: any of the logsource's keyword fields.
    Keywords,
}

/// One leaf before binding: a field, a matcher and, for `fieldref`, the other field.
#[derive(Debug, Clone)]
pub(crate) struct PredSpec {
    pub(crate) field: FieldSel,
    pub(crate) matcher: Matcher,
    pub(crate) reference: Option<String>,
}

/// Compiles a rule's detections (or a filter's) into one condition tree.
pub(crate) fn detections(detections: &Detections) -> Result<Expr<PredSpec>, String> {
    let mut named = HashMap::with_capacity(detections.named.len());
    for (name, detection) in &detections.named {
        named.insert(
            name.as_str(),
            detection_expr(detection).map_err(|e| format!("detection `{name}`: {e}"))?,
        );
    }
    if detections.conditions.is_empty() {
        return Err("no condition".to_owned());
    }
    let mut alternatives = Vec::with_capacity(detections.conditions.len());
    for (i, condition) in detections.conditions.iter().enumerate() {
        let text = detections
            .condition_strings
            .get(i)
            .map(String::as_str)
            .unwrap_or("");
        alternatives.push(
            condition_expr(condition, &named).map_err(|e| format!("condition `{text}`: {e}"))?,
        );
    }
    Ok(if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        Expr::Or(alternatives)
    })
}

fn condition_expr(
    condition: &ConditionExpr,
    named: &HashMap<&str, Expr<PredSpec>>,
) -> Result<Expr<PredSpec>, String> {
    Ok(match condition {
        ConditionExpr::And(xs) => Expr::And(
            xs.iter()
                .map(|x| condition_expr(x, named))
                .collect::<Result<_, _>>()?,
        ),
        ConditionExpr::Or(xs) => Expr::Or(
            xs.iter()
                .map(|x| condition_expr(x, named))
                .collect::<Result<_, _>>()?,
        ),
        ConditionExpr::Not(x) => Expr::Not(Box::new(condition_expr(x, named)?)),
        ConditionExpr::Identifier(name) => named
            .get(name.as_str())
            .cloned()
            .ok_or_else(|| format!("no detection named `{name}`"))?,
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let mut names: Vec<&&str> = named
                .keys()
                .filter(|name| pattern.matches_detection_name(name))
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(format!("`{quantifier} of {pattern}` matches no detection"));
            }
            let children: Vec<_> = names.iter().map(|n| named[**n].clone()).collect();
            match quantifier {
                Quantifier::Any => Expr::Or(children),
                Quantifier::All => Expr::And(children),
                Quantifier::Count(n) => {
                    Expr::AtLeast(usize::try_from(*n).unwrap_or(usize::MAX), children)
                }
            }
        }
    })
}

fn detection_expr(detection: &Detection) -> Result<Expr<PredSpec>, String> {
    Ok(match detection {
        Detection::AllOf(items) => {
            Expr::And(items.iter().map(item_expr).collect::<Result<_, _>>()?)
        }
        Detection::AnyOf(detections) => Expr::Or(
            detections
                .iter()
                .map(detection_expr)
                .collect::<Result<_, _>>()?,
        ),
        Detection::And(detections) => Expr::And(
            detections
                .iter()
                .map(detection_expr)
                .collect::<Result<_, _>>()?,
        ),
        Detection::Keywords(values) => {
            let mods = Mods::keyword();
            let mut leaves = Vec::new();
            for value in values {
                for matcher in value_matchers(value, &mods)? {
                    leaves.push(Expr::Leaf(PredSpec {
                        field: FieldSel::Keywords,
                        matcher,
                        reference: None,
                    }));
                }
            }
            Expr::Or(leaves)
        }
        Detection::Conditional { named, condition } => {
            let mut scope = HashMap::with_capacity(named.len());
            for (name, detection) in named {
                scope.insert(name.as_str(), detection_expr(detection)?);
            }
            condition_expr(condition, &scope)?
        }
        Detection::ArrayMatch { field, .. } => {
            return Err(format!(
                "array matching on `{field}` (Sigma 2.1) is not supported"
            ));
        }
    })
}

/// The modifiers of one field, sorted out.
#[derive(Debug, Default, Clone)]
struct Mods {
    op: Option<TextOp>,
    all: bool,
    cased: bool,
    base64: bool,
    base64offset: bool,
    utf16: Option<Modifier>,
    windash: bool,
    regex: bool,
    regex_i: bool,
    regex_m: bool,
    regex_s: bool,
    cidr: bool,
    exists: bool,
    fieldref: bool,
    num: Option<NumOp>,
    neq: bool,
    expand: bool,
    time: Option<TimePart>,
    keyword: bool,
}

impl Mods {
    fn keyword() -> Self {
        Self {
            keyword: true,
            ..Self::default()
        }
    }

    fn of(modifiers: &[Modifier], keyword: bool) -> Result<Self, String> {
        let mut m = Self {
            keyword,
            ..Self::default()
        };
        for modifier in modifiers {
            let mut set_op = |op| {
                if m.op.replace(op).is_some() {
                    return Err("more than one of contains, startswith, endswith".to_owned());
                }
                Ok(())
            };
            match modifier {
                Modifier::Contains => set_op(TextOp::Contains)?,
                Modifier::StartsWith => set_op(TextOp::Prefix)?,
                Modifier::EndsWith => set_op(TextOp::Suffix)?,
                Modifier::All => m.all = true,
                Modifier::Base64 => m.base64 = true,
                Modifier::Base64Offset => m.base64offset = true,
                Modifier::Wide | Modifier::Utf16be | Modifier::Utf16 => m.utf16 = Some(*modifier),
                Modifier::WindAsh => m.windash = true,
                Modifier::Re => m.regex = true,
                Modifier::IgnoreCase => m.regex_i = true,
                Modifier::Multiline => m.regex_m = true,
                Modifier::DotAll => m.regex_s = true,
                Modifier::Cidr => m.cidr = true,
                Modifier::Cased => m.cased = true,
                Modifier::Exists => m.exists = true,
                Modifier::Expand => m.expand = true,
                Modifier::FieldRef => m.fieldref = true,
                Modifier::Gt => m.num = Some(NumOp::Gt),
                Modifier::Gte => m.num = Some(NumOp::Gte),
                Modifier::Lt => m.num = Some(NumOp::Lt),
                Modifier::Lte => m.num = Some(NumOp::Lte),
                Modifier::Neq => m.neq = true,
                Modifier::Minute => m.time = Some(TimePart::Minute),
                Modifier::Hour => m.time = Some(TimePart::Hour),
                Modifier::Day => m.time = Some(TimePart::Day),
                Modifier::Week => m.time = Some(TimePart::Week),
                Modifier::Month => m.time = Some(TimePart::Month),
                Modifier::Year => m.time = Some(TimePart::Year),
            }
        }
        if (m.regex_i || m.regex_m || m.regex_s) && !m.regex {
            return Err("regex flags (i, m, s) without `re`".to_owned());
        }
        if m.utf16.is_some() && !(m.base64 || m.base64offset) {
            return Err(
                "`wide`/`utf16` only make sense before `base64` or `base64offset`".to_owned(),
            );
        }
        Ok(m)
    }
}

fn item_expr(item: &DetectionItem) -> Result<Expr<PredSpec>, String> {
    let name = item.field.name.as_deref();
    let label = name.unwrap_or("keywords");
    let mods =
        Mods::of(&item.field.modifiers, name.is_none()).map_err(|e| format!("`{label}`: {e}"))?;
    let field = match name {
        Some(name) => FieldSel::Named(name.to_owned()),
        None => FieldSel::Keywords,
    };
    if mods.fieldref {
        let mut leaves = Vec::new();
        for value in &item.values {
            let SigmaValue::String(other) = value else {
                return Err(format!(
                    "`{label}|fieldref`: the value must be a field name"
                ));
            };
            leaves.push(Expr::Leaf(PredSpec {
                field: field.clone(),
                matcher: Matcher::FieldRef {
                    op: mods.op.unwrap_or(TextOp::Exact),
                    cased: mods.cased,
                },
                reference: Some(other.original.clone()),
            }));
        }
        return Ok(combine(leaves, mods.all));
    }
    if mods.exists {
        let present = match item.values.as_slice() {
            [SigmaValue::Bool(b)] => *b,
            [SigmaValue::String(s)] if s.original.eq_ignore_ascii_case("true") => true,
            [SigmaValue::String(s)] if s.original.eq_ignore_ascii_case("false") => false,
            _ => return Err(format!("`{label}|exists` takes true or false")),
        };
        return Ok(Expr::Leaf(PredSpec {
            field,
            matcher: Matcher::Exists(present),
            reference: None,
        }));
    }
    let mut alternatives = Vec::new();
    for value in &item.values {
        let mut matchers = value_matchers(value, &mods).map_err(|e| format!("`{label}`: {e}"))?;
        if mods.neq {
            matchers = vec![match matchers.len() {
                1 => Matcher::Not(Box::new(matchers.remove(0))),
                _ => return Err(format!("`{label}|neq` with an expanding modifier")),
            }];
        }
        // One value may expand into several matchers (windash, base64offset): any of them will do.
        let leaves: Vec<_> = matchers
            .into_iter()
            .map(|matcher| {
                Expr::Leaf(PredSpec {
                    field: field.clone(),
                    matcher,
                    reference: None,
                })
            })
            .collect();
        alternatives.push(if leaves.len() == 1 {
            leaves.into_iter().next().unwrap_or(Expr::Const(false))
        } else {
            Expr::Or(leaves)
        });
    }
    if alternatives.is_empty() {
        return Err(format!("`{label}` has no value"));
    }
    Ok(combine(alternatives, mods.all))
}

fn combine<P>(mut xs: Vec<Expr<P>>, all: bool) -> Expr<P> {
    if xs.len() == 1 {
        return xs.remove(0);
    }
    if all { Expr::And(xs) } else { Expr::Or(xs) }
}

/// One Sigma value with its modifiers → the matchers any of which is a match.
fn value_matchers(value: &SigmaValue, mods: &Mods) -> Result<Vec<Matcher>, String> {
    if let Some(part) = mods.time {
        let wanted = number_of(value).ok_or("a time-part modifier needs a number")?;
        return Ok(vec![Matcher::TimePart {
            part,
            op: mods.num.unwrap_or(NumOp::Eq),
            value: wanted,
        }]);
    }
    if let Some(op) = mods.num {
        let wanted = number_of(value).ok_or("a comparison modifier needs a number")?;
        return Ok(vec![Matcher::Number { op, value: wanted }]);
    }
    let string = match value {
        SigmaValue::String(s) => s,
        SigmaValue::Integer(n)
            if mods.op.is_none()
                && !mods.keyword
                && !mods.windash
                && !mods.base64
                && !mods.base64offset =>
        {
            return Ok(vec![Matcher::Number {
                op: NumOp::Eq,
                value: *n as f64,
            }]);
        }
        SigmaValue::Float(x) if mods.op.is_none() && !mods.keyword => {
            return Ok(vec![Matcher::Number {
                op: NumOp::Eq,
                value: *x,
            }]);
        }
        SigmaValue::Integer(n) => &SigmaString::from_raw(&n.to_string()),
        SigmaValue::Float(x) => &SigmaString::from_raw(&x.to_string()),
        SigmaValue::Bool(b) => return Ok(vec![Matcher::Bool(*b)]),
        SigmaValue::Null => return Ok(vec![Matcher::Null]),
    };
    if mods.expand {
        return Err(format!(
            "placeholder `{}` (expand) has no value in this pipeline",
            string.original
        ));
    }
    if mods.regex {
        let pattern = pcre_classes(&string.original);
        let regex = regex::RegexBuilder::new(&pattern)
            .case_insensitive(mods.regex_i)
            .multi_line(mods.regex_m)
            .dot_matches_new_line(mods.regex_s)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("regex `{}`: {}", string.original, one_line(&e.to_string())))?;
        let literals = regex_literals(&pattern, mods.regex_i, mods.regex_m, mods.regex_s);
        return Ok(vec![Matcher::Regex(regex, literals)]);
    }
    if mods.cidr {
        let text = string.original.trim();
        let net: ipnet::IpNet = text
            .parse()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| format!("`{text}` is not a CIDR network"))?;
        return Ok(vec![Matcher::Cidr(net)]);
    }
    let default_op = if mods.keyword {
        TextOp::Contains
    } else {
        TextOp::Exact
    };
    let op = mods.op.unwrap_or(default_op);
    if mods.base64 || mods.base64offset {
        if string.contains_wildcards() {
            return Err("base64 of a value with wildcards".to_owned());
        }
        let plain = string.as_plain().unwrap_or_default();
        let bytes = encode_utf16(&plain, mods.utf16);
        let encoded = if mods.base64offset {
            base64_offsets(&bytes)
        } else {
            vec![STANDARD.encode(&bytes)]
        };
        // Encoded text is case-sensitive by nature.
        return Ok(encoded
            .into_iter()
            .map(|needle| Matcher::text(op, needle, true))
            .collect());
    }
    let variants = if mods.windash {
        windash(string)?
    } else {
        vec![string.parts.clone()]
    };
    Ok(variants
        .into_iter()
        .map(|parts| text_matcher(&parts, op, mods.cased))
        .collect())
}

fn number_of(value: &SigmaValue) -> Option<f64> {
    match value {
        SigmaValue::Integer(n) => Some(*n as f64),
        SigmaValue::Float(x) => Some(*x),
        SigmaValue::String(s) => s.original.trim().parse().ok(),
        _ => None,
    }
}

fn text_matcher(parts: &[StringPart], op: TextOp, cased: bool) -> Matcher {
    let literal = |s: &str| {
        if cased {
            s.to_owned()
        } else {
            let mut out = String::with_capacity(s.len());
            fold_into(s, &mut out);
            out
        }
    };
    let wild = parts.iter().any(|p| matches!(p, StringPart::Special(_)));
    if !wild {
        let mut needle = String::new();
        for part in parts {
            if let StringPart::Plain(s) = part {
                needle.push_str(&literal(s));
            }
        }
        return Matcher::text(op, needle, cased);
    }
    let mut glob = Vec::with_capacity(parts.len() + 2);
    if matches!(op, TextOp::Contains | TextOp::Suffix) {
        glob.push(GlobPart::Any);
    }
    for part in parts {
        glob.push(match part {
            StringPart::Plain(s) => GlobPart::Literal(literal(s)),
            StringPart::Special(SpecialChar::WildcardMulti) => GlobPart::Any,
            StringPart::Special(SpecialChar::WildcardSingle) => GlobPart::One,
        });
    }
    if matches!(op, TextOp::Contains | TextOp::Prefix) {
        glob.push(GlobPart::Any);
    }
    glob.dedup_by(|a, b| *a == GlobPart::Any && *b == GlobPart::Any);
    Matcher::Glob { parts: glob, cased }
}

fn encode_utf16(text: &str, encoding: Option<Modifier>) -> Vec<u8> {
    match encoding {
        None => text.as_bytes().to_vec(),
        Some(Modifier::Utf16be) => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Some(Modifier::Utf16) => [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
        Some(_) => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
    }
}

/// The three encodings of `bytes` at offsets 0, 1 and 2 of a base64 stream, with the characters that depend on
/// the unknown neighbours cut off (Sigma's `base64offset`).
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    let mut out = Vec::with_capacity(3);
    for shift in 0..3 {
        let mut padded = vec![b' '; shift];
        padded.extend_from_slice(bytes);
        let encoded = STANDARD.encode(&padded);
        let cut_end = END[(bytes.len() + shift) % 3];
        let end = encoded.len().saturating_sub(cut_end);
        if START[shift] < end {
            out.push(encoded[START[shift]..end].to_owned());
        }
    }
    out
}

/// `windash`: every `-` or `/` that starts a flag (after the start or a non-word character, before a word
/// character) becomes each of `-`, `/`, en dash, em dash and horizontal bar.
fn windash(string: &SigmaString) -> Result<Vec<Vec<StringPart>>, String> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let mut out: Vec<Vec<StringPart>> = vec![Vec::new()];
    let mut positions = 0usize;
    for part in &string.parts {
        let StringPart::Plain(text) = part else {
            for v in &mut out {
                v.push(part.clone());
            }
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        // Split the plain text into pieces at flag dashes and expand.
        let mut pieces: Vec<Vec<String>> = vec![vec![String::new()]];
        for (i, &c) in chars.iter().enumerate() {
            let before_ok = i == 0 || !is_word(chars[i - 1]);
            let after_ok = chars.get(i + 1).is_some_and(|&n| is_word(n));
            if (c == '-' || c == '/') && before_ok && after_ok {
                positions += 1;
                pieces.push(DASHES.iter().map(|d| d.to_string()).collect());
                pieces.push(vec![String::new()]);
            } else if let Some(last) = pieces.last_mut().and_then(|p| p.last_mut()) {
                last.push(c);
            }
        }
        if positions > MAX_WINDASH_POSITIONS {
            return Err(format!(
                "windash over `{}` has more than {MAX_WINDASH_POSITIONS} flags",
                string.original
            ));
        }
        for piece in pieces {
            let mut next = Vec::with_capacity(out.len() * piece.len());
            for prefix in &out {
                for choice in &piece {
                    let mut v = prefix.clone();
                    if !choice.is_empty() {
                        match v.last_mut() {
                            Some(StringPart::Plain(s)) => s.push_str(choice),
                            _ => v.push(StringPart::Plain(choice.clone())),
                        }
                    }
                    next.push(v);
                }
            }
            out = next;
        }
    }
    Ok(out)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sigma's regexes are PCRE's, where `\d`, `\w`, `\s` and the word boundaries `\b` are ASCII; Rust's are
/// Unicode. The pattern with them written as ASCII classes (`[[:digit:]]`) and ASCII boundaries (`(?-u:\b)`),
/// everything else as it was. (An ASCII boundary also lets the regex run on its DFA: a Unicode one makes it
/// fall back to a backtracker that clears a bit per state and byte of text on every search.) `\B` stays
/// Unicode: an ASCII one could split a character. A pattern that does not parse is returned as it is, for the
/// regex builder to report.
fn pcre_classes(pattern: &str) -> Cow<'_, str> {
    let Ok(mut ast) = regex_syntax::ast::parse::Parser::new().parse(pattern) else {
        return Cow::Borrowed(pattern);
    };
    if !ascii_classes(&mut ast) {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    match regex_syntax::ast::print::Printer::new().print(&ast, &mut out) {
        Ok(()) => Cow::Owned(out),
        Err(_) => Cow::Borrowed(pattern),
    }
}

/// Rewrites the Perl classes and word boundaries of `ast` as ASCII ones; whether it changed anything.
fn ascii_classes(ast: &mut regex_syntax::ast::Ast) -> bool {
    use regex_syntax::ast::{
        Assertion, AssertionKind as K, Ast, ClassBracketed, ClassSet, ClassSetItem, Flag, Flags,
        FlagsItem, FlagsItemKind, Group, GroupKind,
    };
    let replacement = match ast {
        Ast::ClassPerl(perl) => Ast::class_bracketed(ClassBracketed {
            span: perl.span,
            negated: false,
            kind: ClassSet::Item(ClassSetItem::Ascii(ascii_class(perl))),
        }),
        Ast::Assertion(assertion)
            if matches!(
                assertion.kind,
                K::WordBoundary
                    | K::WordBoundaryStart
                    | K::WordBoundaryEnd
                    | K::WordBoundaryStartAngle
                    | K::WordBoundaryEndAngle
            ) =>
        {
            let span = assertion.span;
            let item = |kind| FlagsItem { span, kind };
            Ast::group(Group {
                span,
                kind: GroupKind::NonCapturing(Flags {
                    span,
                    items: vec![
                        item(FlagsItemKind::Negation),
                        item(FlagsItemKind::Flag(Flag::Unicode)),
                    ],
                }),
                ast: Box::new(Ast::assertion(Assertion {
                    span,
                    kind: assertion.kind.clone(),
                })),
            })
        }
        Ast::ClassBracketed(class) => return ascii_set(&mut class.kind),
        Ast::Repetition(repetition) => return ascii_classes(&mut repetition.ast),
        Ast::Group(group) => return ascii_classes(&mut group.ast),
        Ast::Alternation(alternation) => return rewrite_all(&mut alternation.asts, ascii_classes),
        Ast::Concat(concat) => return rewrite_all(&mut concat.asts, ascii_classes),
        _ => return false,
    };
    *ast = replacement;
    true
}

fn ascii_set(set: &mut regex_syntax::ast::ClassSet) -> bool {
    match set {
        regex_syntax::ast::ClassSet::Item(item) => ascii_item(item),
        regex_syntax::ast::ClassSet::BinaryOp(op) => {
            ascii_set(&mut op.lhs) | ascii_set(&mut op.rhs)
        }
    }
}

fn ascii_item(item: &mut regex_syntax::ast::ClassSetItem) -> bool {
    use regex_syntax::ast::ClassSetItem;
    match item {
        ClassSetItem::Perl(perl) => {
            *item = ClassSetItem::Ascii(ascii_class(perl));
            true
        }
        ClassSetItem::Bracketed(class) => ascii_set(&mut class.kind),
        ClassSetItem::Union(union) => rewrite_all(&mut union.items, ascii_item),
        _ => false,
    }
}

/// Rewrites every one of `items` (none is skipped once one changed); whether any changed.
fn rewrite_all<T>(items: &mut [T], rewrite: fn(&mut T) -> bool) -> bool {
    items
        .iter_mut()
        .fold(false, |changed, item| rewrite(item) | changed)
}

fn ascii_class(perl: &regex_syntax::ast::ClassPerl) -> regex_syntax::ast::ClassAscii {
    use regex_syntax::ast::{ClassAsciiKind, ClassPerlKind};
    regex_syntax::ast::ClassAscii {
        span: perl.span,
        kind: match perl.kind {
            ClassPerlKind::Digit => ClassAsciiKind::Digit,
            ClassPerlKind::Space => ClassAsciiKind::Space,
            ClassPerlKind::Word => ClassAsciiKind::Word,
        },
        negated: perl.negated,
    }
}

/// Literals one of which every match of the regex contains, lower-cased (the prefilter's needles for it): the
/// starts or the ends of its matches, whichever set has the longer shortest literal. Empty when no such finite
/// set of literals of two bytes or more is known: the regex is then evaluated on every routed event.
fn regex_literals(pattern: &str, i: bool, m: bool, s: bool) -> Box<[String]> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .case_insensitive(i)
        .multi_line(m)
        .dot_matches_new_line(s)
        .build()
        .parse(pattern)
    else {
        return Box::new([]);
    };
    let best = [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            let seq = Extractor::new().kind(kind).limit_total(1000).extract(&hir);
            let literals: Option<Vec<String>> = seq
                .literals()?
                .iter()
                .map(|l| {
                    std::str::from_utf8(l.as_bytes())
                        .ok()
                        .map(|t| crate::matcher::fold(t, false).into_owned())
                })
                .collect();
            let mut literals = literals?;
            literals.sort_unstable();
            literals.dedup();
            let shortest = literals.iter().map(String::len).min()?;
            (shortest >= 2).then_some((shortest, literals))
        })
        .max_by_key(|(shortest, literals)| (*shortest, std::cmp::Reverse(literals.len())));
    best.map(|(_, literals)| literals.into_boxed_slice())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_and_word_boundaries_become_ascii_as_in_pcre() {
        for (pattern, rewritten) in [
            (r"^Abc\d+$", r"^Abc[[:digit:]]+$"),
            (r"\W\S\D", r"[[:^word:]][[:^space:]][[:^digit:]]"),
            (r"[\d.]{4}|[^\w-]", r"[[:digit:].]{4}|[^[:word:]-]"),
            (r"(?:\.|\b){4}", r"(?:\.|(?-u:\b)){4}"),
            (r"\b{start}x\<", r"(?-u:\b{start})x(?-u:\<)"),
            // Nothing to rewrite, `\B` kept, and a pattern that does not parse: as they were.
            (r"^a.b$", r"^a.b$"),
            (r"a\Bb", r"a\Bb"),
            (r"(?<=a)b", r"(?<=a)b"),
        ] {
            assert_eq!(pcre_classes(pattern), rewritten, "{pattern}");
            if pattern != r"(?<=a)b" {
                regex::Regex::new(&pcre_classes(pattern)).expect(pattern);
            }
        }
    }

    #[test]
    fn base64offset_matches_sigma() {
        // Sigma's specification example for `base64offset|contains: 'http://'`.
        assert_eq!(
            base64_offsets(b"http://"),
            vec!["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]
        );
    }

    #[test]
    fn windash_expands_flags_only() {
        let variants = windash(&SigmaString::new(" -enc foo-bar")).unwrap();
        assert_eq!(variants.len(), 5);
        let texts: Vec<String> = variants
            .iter()
            .map(|v| match v.as_slice() {
                [StringPart::Plain(s)] => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(texts.contains(&" /enc foo-bar".to_owned()));
        assert!(texts.contains(&" \u{2013}enc foo-bar".to_owned()));
    }

    #[test]
    fn wide_is_utf16le() {
        assert_eq!(
            encode_utf16("ab", Some(Modifier::Wide)),
            vec![b'a', 0, b'b', 0]
        );
        assert_eq!(
            encode_utf16("ab", Some(Modifier::Utf16be)),
            vec![0, b'a', 0, b'b']
        );
    }

    #[test]
    fn a_regex_gives_the_literals_its_matches_contain() {
        let literals = |pattern: &str, i: bool| regex_literals(pattern, i, false, false).to_vec();
        assert_eq!(literals(r"ipconfig\s+/all", false), ["ipconfig"]);
        assert_eq!(
            literals(r"\\(cmd|PowerShell)\.exe", false),
            ["\\cmd.exe", "\\powershell.exe"]
        );
        // The ends when they are longer than the starts.
        assert_eq!(literals(r"\s\d+\.dll$", false), [".dll"]);
        // Case-insensitive: the case variants fold to one literal, except those that fold apart (`ſ`, the long
        // s, matches `s` case-insensitively but is its own lower case).
        assert_eq!(literals(r"net\s+user", true), ["user", "uſer"]);
        // Nothing of two bytes or more is certain.
        assert!(literals(r"\s[a-f0-9]{64}", false).is_empty());
        assert!(literals(r"a|bc", false).is_empty());
        assert!(literals(r"(unclosed", false).is_empty());
    }
}
