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
//! the contract anyway. Strings are scanned eight bytes at a time
//! ([`find_special`]); `memchr` (SIMD) jumps between quotes and brackets of
//! ignored objects and arrays.

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

/// Every byte of a word set to 1, and to 0x80.
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bytes of `v` below `n` (at most 0x80), as their high bit: exact up to
/// and including the lowest one (a borrow may mark bytes above it, never
/// below), which is the one a search needs.
#[inline]
fn bytes_below(v: u64, n: u8) -> u64 {
    v.wrapping_sub(LO * u64::from(n)) & !v & HI
}

/// Index of the first `"` or `\\` in `h`, or, with `control`, of the first
/// of those or a control character (below 0x20), whichever comes first.
///
/// Eight bytes a step, as one `u64` (SWAR): keys, ids and timestamps are
/// short, and a byte loop's exit at each string's end was its costliest
/// part (a mispredicted branch per string); the tail under eight bytes goes
/// byte by byte.
#[inline]
fn find_special(h: &[u8], control: bool) -> Option<usize> {
    const QUOTE: u64 = LO * b'"' as u64;
    const BACKSLASH: u64 = LO * b'\\' as u64;
    let mut words = h.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // A byte equal to `c` is a zero byte of `w ^ c`.
        let mut hits = bytes_below(w ^ QUOTE, 1) | bytes_below(w ^ BACKSLASH, 1);
        if control {
            hits |= bytes_below(w, 0x20);
        }
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || (control && c < 0x20))
        .map(|j| at + j)
}

/// A string without escapes or control characters starting at `b[i] == '"'`:
/// its bytes and the index after its closing quote.
#[inline]
fn plain_string(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let len = find_special(&b[start..], true)?;
    (b[start + len] == b'"').then_some((&b[start..start + len], start + len + 1))
}

/// Index after any string (escapes allowed) starting at `b[i] == '"'`.
#[inline]
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j += find_special(b.get(j..)?, false)?;
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
