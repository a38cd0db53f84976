//! Cell values: dates with any offset to UTC, exact decimal amounts, quantities and flags, read straight from
//! the cell's bytes without allocating. Errors name the column and the problem, never the value.

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use rust_decimal::Decimal;

use crate::domain::{Currency, Money};

/// Why a cell cannot be used: its column and the problem. Holds no cell value, so it is safe to show for
/// restricted reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CellError {
    pub(crate) column: &'static str,
    pub(crate) problem: &'static str,
}

impl CellError {
    pub(crate) fn new(column: &'static str, problem: &'static str) -> Self {
        CellError { column, problem }
    }

    pub(crate) fn reason(&self) -> String {
        format!("{}: {}", self.column, self.problem)
    }
}

pub(crate) type CellResult<T> = Result<T, CellError>;

pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// The cell as text, or `None` when it is empty.
pub(crate) fn opt_text<T: for<'a> From<&'a str>>(cell: &str) -> Option<T> {
    let cell = cell.trim_ascii();
    (!cell.is_empty()).then(|| T::from(cell))
}

/// The cell as text, empty when the cell is.
pub(crate) fn text<T: for<'a> From<&'a str>>(cell: &str) -> T {
    T::from(cell.trim_ascii())
}

/// Overwrites `target` with the cell, reusing its buffer.
pub(crate) fn set_text(target: &mut CompactString, cell: &str) {
    target.clear();
    target.push_str(cell.trim_ascii());
}

/// Overwrites `target` with the cell, `None` when empty, reusing its buffer when it has one.
pub(crate) fn set_opt_text(target: &mut Option<CompactString>, cell: &str) {
    let cell = cell.trim_ascii();
    match target {
        _ if cell.is_empty() => *target = None,
        Some(text) => {
            text.clear();
            text.push_str(cell);
        }
        None => *target = Some(cell.into()),
    }
}

/// Overwrites `target` with a cell that must not be empty.
pub(crate) fn set_required_text(
    column: &'static str,
    target: &mut CompactString,
    cell: &str,
) -> CellResult<()> {
    let cell = cell.trim_ascii();
    if cell.is_empty() {
        return Err(CellError::new(column, "empty"));
    }
    set_text(target, cell);
    Ok(())
}

/// A non-empty cell as text.
pub(crate) fn required_text<T: for<'a> From<&'a str>>(column: &'static str, cell: &str) -> CellResult<T> {
    opt_text(cell).ok_or(CellError::new(column, "empty"))
}

/// A required date-time.
pub(crate) fn date(column: &'static str, cell: &str) -> CellResult<DateTime<Utc>> {
    opt_date(column, cell)?.ok_or(CellError::new(column, "empty"))
}

/// An optional date-time: empty is `None`.
pub(crate) fn opt_date(column: &'static str, cell: &str) -> CellResult<Option<DateTime<Utc>>> {
    let bytes = trim(cell.as_bytes());
    if bytes.is_empty() {
        return Ok(None);
    }
    parse_datetime(bytes).map(Some).ok_or(CellError::new(
        column,
        "not a date-time like 2020-12-18T06:32:18-08:00",
    ))
}

/// The last date a column held: rows of one order repeat their dates, and parsing is the costly part.
#[derive(Debug, Default)]
pub(crate) struct DateCache {
    raw: Vec<u8>,
    value: Option<DateTime<Utc>>,
}

impl DateCache {
    /// A required date-time, as [`date`].
    pub(crate) fn date(&mut self, column: &'static str, cell: &str) -> CellResult<DateTime<Utc>> {
        let bytes = trim(cell.as_bytes());
        if let Some(value) = self.value
            && bytes == self.raw.as_slice()
        {
            return Ok(value);
        }
        let value = date(column, cell)?;
        self.raw.clear();
        self.raw.extend_from_slice(bytes);
        self.value = Some(value);
        Ok(value)
    }
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM|±HH| UTC| GMT)` (`T` or a space between date and time)
/// and converts it to UTC. Times without an offset are refused: they would be guessed.
pub(crate) fn parse_datetime(s: &[u8]) -> Option<DateTime<Utc>> {
    if s.len() < 20 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = s.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    if s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') || s[13] != b':' || s[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: u32 = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let mut scale = 100_000_000u32;
        for &b in &fraction[..digits.min(9)] {
            nanos += u32::from(b - b'0') * scale;
            scale /= 10;
        }
        rest = &fraction[digits..];
    }
    let offset_seconds = match rest {
        b"Z" | b"z" | b" UTC" | b" GMT" | b"UTC" => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail {
                [h1, h2] => (two(*h1, *h2)?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (two(*h1, *h2)?, two(*m1, *m2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let magnitude = h * 3600 + m * 60;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour * 3600 + minute * 60 + second;
    DateTime::from_timestamp(local - offset_seconds, nanos)
}

fn two(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An exact decimal (`12.34`, `-0.75`, `1500`, `+3`); empty is `None`. No thousands separators, no exponent.
pub(crate) fn decimal(cell: &str) -> Result<Option<Decimal>, ()> {
    let s = trim(cell.as_bytes());
    if s.is_empty() {
        return Ok(None);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut mantissa: i64 = 0;
    let mut scale: u32 = 0;
    let mut seen_point = false;
    let mut count = 0;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                count += 1;
                if count > 18 {
                    // Beyond i64: let rust_decimal take the slow, exact path.
                    return Decimal::from_str_exact(cell.trim_ascii())
                        .map(Some)
                        .map_err(|_| ());
                }
                mantissa = mantissa * 10 + i64::from(b - b'0');
                if seen_point {
                    scale += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err(()),
        }
    }
    if count == 0 {
        return Err(());
    }
    Ok(Some(Decimal::new(
        if negative { -mantissa } else { mantissa },
        scale,
    )))
}

/// An amount in `currency`; empty is `None`. A non-empty amount without a known currency is an error, since
/// guessing one would store a wrong price.
pub(crate) fn money(
    column: &'static str,
    cell: &str,
    currency: Option<Currency>,
) -> CellResult<Option<Money>> {
    match decimal(cell) {
        Ok(None) => Ok(None),
        Ok(Some(amount)) => match currency {
            Some(currency) => Ok(Some(Money::new(amount, currency))),
            None => Err(CellError::new(
                "currency",
                "empty, and the sales channel names no marketplace to take it from",
            )),
        },
        Err(()) => Err(CellError::new(column, "not a decimal amount like 12.34")),
    }
}

/// A required whole number of units.
pub(crate) fn quantity(column: &'static str, cell: &str) -> CellResult<u32> {
    opt_quantity(column, cell)?.ok_or(CellError::new(column, "empty"))
}

/// An optional whole number of units: empty is `None`.
pub(crate) fn opt_quantity(column: &'static str, cell: &str) -> CellResult<Option<u32>> {
    let s = trim(cell.as_bytes());
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return Err(CellError::new(column, "not a whole number of units"));
    }
    Ok(Some(
        s.iter().fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0')),
    ))
}

/// A flag: `true`/`false` (any case), `yes`/`no`, `y`/`n`, `1`/`0`; empty is `false`.
pub(crate) fn flag(column: &'static str, cell: &str) -> CellResult<bool> {
    let s = trim(cell.as_bytes());
    const TRUE: [&[u8]; 4] = [b"true", b"yes", b"y", b"1"];
    const FALSE: [&[u8]; 4] = [b"false", b"no", b"n", b"0"];
    if s.is_empty() || FALSE.iter().any(|f| s.eq_ignore_ascii_case(f)) {
        Ok(false)
    } else if TRUE.iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Ok(true)
    } else {
        Err(CellError::new(column, "not true or false"))
    }
}

/// The row's currency cell; `None` when empty.
pub(crate) fn currency(column: &'static str, cell: &str) -> CellResult<Option<Currency>> {
    let code = cell.trim_ascii();
    if code.is_empty() {
        return Ok(None);
    }
    Currency::parse(column, code)
        .ok()
        .map(Some)
        .ok_or(CellError::new(column, "not a three-letter ISO 4217 code"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn dates_with_any_offset_become_utc() {
        let cases = [
            ("2020-12-18T06:32:18-08:00", "2020-12-18T14:32:18Z"),
            ("2022-07-18T18:52:47+00:00", "2022-07-18T18:52:47Z"),
            ("2022-07-18T18:52:47Z", "2022-07-18T18:52:47Z"),
            ("2024-02-29T23:30:00+0530", "2024-02-29T18:00:00Z"),
            ("2024-03-01T01:00:00+09", "2024-02-29T16:00:00Z"),
            ("2024-01-15 10:00:00 UTC", "2024-01-15T10:00:00Z"),
            ("2003-07-14T18:53:56.250+00:00", "2003-07-14T18:53:56.250Z"),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_datetime(text.as_bytes()), Some(utc(expected)), "{text}");
        }
    }

    #[test]
    fn dates_without_offset_or_out_of_range_are_refused() {
        for text in [
            "2020-12-18T06:32:18",
            "2020-12-18",
            "2023-02-29T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-12-18T24:00:00Z",
            "2020-12-18T06:32:18 PST",
            "2020-12-18T06:32:18+25:00",
            "18.12.2020 06:32:18+01:00",
            "2020-12-18T06:32:18.Z",
        ] {
            assert_eq!(parse_datetime(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn decimals_are_exact() {
        let d = |s: &str| decimal(s).unwrap().unwrap().to_string();
        assert_eq!(d("25.88"), "25.88");
        assert_eq!(d("-0.75"), "-0.75");
        assert_eq!(d("14.0"), "14.0");
        assert_eq!(d("+3"), "3");
        assert_eq!(d("1500"), "1500");
        assert_eq!(d(".5"), "0.5");
        assert_eq!(d("12345678901234567890.12"), "12345678901234567890.12");
        assert_eq!(decimal("  ").unwrap(), None);
        for bad in ["1,234.00", "12.3.4", "-", "abc", "1e3", "."] {
            assert!(decimal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_amount_without_a_currency_names_the_currency_column() {
        let err = money("item-price", "9.99", None).unwrap_err();
        assert_eq!(err.column, "currency");
        assert_eq!(money("item-price", "", None).unwrap(), None);
    }

    #[test]
    fn quantities_and_flags_accept_only_what_they_mean() {
        assert_eq!(quantity("quantity", " 3 ").unwrap(), 3);
        assert!(quantity("quantity", "2.5").is_err());
        assert!(quantity("quantity", "-1").is_err());
        assert_eq!(quantity("quantity", "").unwrap_err().problem, "empty");
        assert!(flag("is-prime", "TRUE").unwrap());
        assert!(!flag("is-prime", "").unwrap());
        assert!(flag("is-prime", "maybe").is_err());
    }
}
