//! An asset inventory as CSV (RFC 4180: comma-separated, fields optionally in double quotes with `""` for a quote,
//! CRLF or LF line ends, a header row naming the columns): what an owner exports from a spreadsheet or a CMDB.
//! Columns (any order, names case-insensitive): `name` (required), `product` (CPE 2.3 or purl), `version`,
//! `addresses` (addresses or CIDR ranges separated by spaces or `;`), `facility`. Unknown columns are errors, so a
//! misspelt column is not silently dropped.

use crate::CasesError;

/// One asset row, as text; the API checks each value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InventoryRow {
    pub name: String,
    pub product: Option<String>,
    pub version: Option<String>,
    pub addresses: Vec<String>,
    pub facility: Option<String>,
}

const COLUMNS: [&str; 5] = ["name", "product", "version", "addresses", "facility"];

/// The records of a CSV text: fields unquoted as RFC 4180 says; an unterminated quote or text after a closing
/// quote is an error naming the line.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CasesError> {
    let bad = |line: usize, what: &str| CasesError::Data {
        kind: "inventory",
        source_name: format!("line {line}"),
        reason: what.to_owned(),
    };
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut start = 1;
    let mut quoted = false;
    let mut after_quote = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    after_quote = true;
                }
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !after_quote => quoted = true,
            '"' => return Err(bad(line, "a quote inside an unquoted field")),
            ',' => {
                fields.push(std::mem::take(&mut field));
                after_quote = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut fields)));
                after_quote = false;
                line += 1;
                start = line;
            }
            _ if after_quote => return Err(bad(line, "text after a closing quote")),
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(bad(start, "a quoted field is not closed"));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push((start, fields));
    }
    // Blank lines carry nothing.
    out.retain(|(_, f)| !(f.len() == 1 && f[0].trim().is_empty()));
    Ok(out)
}

/// Reads an inventory: the header, then one asset per row. An error names the line and what is wrong.
pub fn parse_inventory(text: &str) -> Result<Vec<InventoryRow>, CasesError> {
    let bad = |line: usize, reason: String| CasesError::Data {
        kind: "inventory",
        source_name: format!("line {line}"),
        reason,
    };
    let mut rows = records(text.strip_prefix('\u{feff}').unwrap_or(text))?.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err(bad(
            1,
            "no header row (name, product, version, addresses, facility)".into(),
        ));
    };
    let mut columns = Vec::with_capacity(header.len());
    for name in &header {
        let name = name.trim().to_ascii_lowercase();
        if !COLUMNS.contains(&name.as_str()) {
            return Err(bad(
                1,
                format!("column `{name}`: not one of {}", COLUMNS.join(", ")),
            ));
        }
        if columns.contains(&name) {
            return Err(bad(1, format!("column `{name}` twice")));
        }
        columns.push(name);
    }
    if !columns.iter().any(|c| c == "name") {
        return Err(bad(1, "no `name` column".into()));
    }
    rows.map(|(line, fields)| {
        if fields.len() != columns.len() {
            return Err(bad(
                line,
                format!("{} fields, the header has {}", fields.len(), columns.len()),
            ));
        }
        let mut row = InventoryRow::default();
        for (column, value) in columns.iter().zip(fields) {
            let value = value.trim().to_owned();
            let optional = (!value.is_empty()).then(|| value.clone());
            match column.as_str() {
                "name" => row.name = value,
                "product" => row.product = optional,
                "version" => row.version = optional,
                "facility" => row.facility = optional,
                _ => {
                    row.addresses = value
                        .split([' ', ';', '\t'])
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
            }
        }
        if row.name.is_empty() {
            return Err(bad(line, "the asset has no name".into()));
        }
        Ok(row)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_export_reads() {
        let text = "\u{feff}Name,Product,Version,Addresses,Facility\r\n\
                    \"Portal, e-services\",cpe:2.3:a:bitrix:site_manager,22.5.1,10.0.0.0/24;10.0.1.5,portal\r\n\
                    \r\n\
                    \"Mail \"\"relay\"\"\",,,192.0.2.7,\n";
        let rows = parse_inventory(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name, "Portal, e-services");
        assert_eq!(rows[0].addresses, ["10.0.0.0/24", "10.0.1.5"]);
        assert_eq!(rows[0].facility.as_deref(), Some("portal"));
        assert_eq!(rows[1].name, "Mail \"relay\"");
        assert_eq!(rows[1].product, None);
    }

    #[test]
    fn what_is_wrong_is_named_with_its_line() {
        let err = |text: &str| parse_inventory(text).unwrap_err().to_string();
        assert!(err("name,owner\nx,y\n").contains("column `owner`"));
        assert!(err("product\nx\n").contains("no `name` column"));
        assert!(err("name,version\nweb,1\nmail\n").contains("line 3"));
        assert!(err("name\n\"open\n").contains("not closed"));
        assert!(err("name\n\"a\"b\n").contains("after a closing quote"));
        assert!(err("").contains("no header"));
        assert!(err("name,version\n,1\n").contains("no name"));
    }

    fn quote(field: &str) -> String {
        format!("\"{}\"", field.replace('"', "\"\""))
    }

    proptest::proptest! {
        /// Any names and versions, quoted as a spreadsheet writes them, read back exactly.
        #[test]
        fn quoted_fields_round_trip(rows in proptest::collection::vec(("[^\r]{1,20}", "[a-z0-9.]{0,8}"), 1..8)) {
            let rows: Vec<_> = rows.into_iter().filter(|(n, _)| !n.trim().is_empty()).collect();
            let mut text = String::from("name,version\r\n");
            for (name, version) in &rows {
                text.push_str(&format!("{},{}\r\n", quote(name), quote(version)));
            }
            let read = parse_inventory(&text).unwrap();
            proptest::prop_assert_eq!(read.len(), rows.len());
            for (row, (name, version)) in read.iter().zip(&rows) {
                proptest::prop_assert_eq!(&row.name, name.trim());
                proptest::prop_assert_eq!(row.version.as_deref().unwrap_or(""), version.as_str());
            }
        }

        /// Arbitrary text never panics: rows or an error naming a line.
        #[test]
        fn arbitrary_text_is_rows_or_a_named_error(text in "\\PC{0,200}") {
            if let Err(e) = parse_inventory(&text) {
                proptest::prop_assert!(e.to_string().contains("line"));
            }
        }
    }
}
