//! Fast path for feature-usage payloads, the highest-volume stream.
//!
//! A usage event needs three top-level strings (`feature`, `user`, `at`),
//! but producers add more fields, and `serde_json` parses and validates every
//! ignored value in full. This scanner takes the three strings borrowed from
//! the payload and steps over every other value. It answers only when it is
//! sure: a string with escapes, a duplicate or missing field, a non-string
//! value for a needed field, or anything else unusual gives `None`, and the
//! caller decodes with `serde_json`, which stays the authority on errors.
//!
//! One leniency, by design: the contents of ignored objects and arrays are
//! skipped by bracket matching, not validated (nor are ignored strings
//! checked for UTF-8 or control characters). Unknown fields are ignored by
//! the contract anyway. Scanning uses `memchr` (SIMD) to jump between quotes
//! and brackets.

/// `[feature, user, at]` borrowed from `b`, or `None` when unsure.
pub fn scan(b: &[u8]) -> Option<[&str; 3]> {
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    let mut found: [Option<&[u8]>; 3] = [None; 3];
    loop {
        let (key, next) = plain_string(b, i)?;
        i = ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        let slot = match key {
            b"feature" => Some(0),
            b"user" => Some(1),
            b"at" => Some(2),
            _ => None,
        };
        match slot {
            Some(k) if found[k].is_none() => {
                let (value, next) = plain_string(b, i)?;
                found[k] = Some(value);
                i = next;
            }
            Some(_) => return None,
            None => i = skip_value(b, i)?,
        }
        i = ws(b, i);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    if ws(b, i + 1) != b.len() {
        return None;
    }
    let [f, u, a] = found;
    Some([utf8(f?)?, utf8(u?)?, utf8(a?)?])
}

fn utf8(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// Index of the first non-whitespace byte at or after `i`.
#[inline]
fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Index of the first `"` or `\\` in `h`. Keys, ids and timestamps are
/// short: a plain loop over the first 32 bytes beats the SIMD search's setup
/// there; longer strings go to `memchr`.
#[inline]
fn quote_or_backslash(h: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    let head = &h[..h.len().min(SHORT)];
    if let Some(i) = head.iter().position(|&c| c == b'"' || c == b'\\') {
        return Some(i);
    }
    if h.len() <= SHORT {
        return None;
    }
    memchr::memchr2(b'"', b'\\', &h[SHORT..]).map(|j| j + SHORT)
}

/// A string without escapes or control characters starting at `b[i] == '"'`:
/// its bytes and the index after its closing quote.
#[inline]
fn plain_string(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let len = quote_or_backslash(&b[start..])?;
    let s = &b[start..start + len];
    (b[start + len] == b'"' && !s.iter().any(|&c| c < 0x20)).then_some((s, start + len + 1))
}

/// Index after any string (escapes allowed) starting at `b[i] == '"'`.
#[inline]
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j += quote_or_backslash(b.get(j..)?)?;
        if b[j] == b'"' {
            return Some(j + 1);
        }
        j += 2;
    }
}

/// Index after the value starting at `b[i]`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        open @ (b'{' | b'[') => {
            // In well-formed JSON, brackets of one kind balance on their own
            // once strings are stepped over: count only this kind.
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            loop {
                j += memchr::memchr3(b'"', open, close, b.get(j..)?)?;
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    c if c == open => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                }
                j += 1;
            }
        }
        b't' => b[i..].starts_with(b"true").then_some(i + 4),
        b'f' => b[i..].starts_with(b"false").then_some(i + 5),
        b'n' => b[i..].starts_with(b"null").then_some(i + 4),
        b'-' | b'0'..=b'9' => {
            let len = b[i..]
                .iter()
                .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            Some(i + len)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
