//! The XML form of an exchange message (ADR 003; `docs/formats/nccis-exchange.md`, "XML form"), and its enveloped
//! XML signature.
//!
//! The XML is the JSON message mapped field by field: `<message xmlns="urn:kuzet:nccis-exchange:1">` holds one
//! element per field, in name order; an array's values are repeated `<item>` elements; a value that is not a
//! string says what it is in a `type` attribute (`number`, `boolean`, `array`, `null`, and `object` when empty),
//! so reading needs no schema and XML → JSON → XML is exact. The payload names its XSD type (`xsi:type`, the
//! JSON Schema's definition for the kind). Reading a message maps it back to JSON and checks it against the JSON
//! Schema like any other; `docs/formats/nccis-exchange-v1.xsd` describes the same for XML tools.
//!
//! Kuzet writes exclusive canonical XML (no declaration, no whitespace between elements, `<a></a>` for an empty
//! element, c14n escaping), so the bytes it signs are the bytes it sends. It reads only what it would write
//! itself: a document in another form (other order, comments, CDATA, prefixes) is refused with where it first
//! differs, never guessed at — the digest it checks is over exactly the canonical bytes.
//!
//! The signature is XML-DSig 1.1, enveloped (`Reference URI=""`, enveloped-signature and exclusive c14n
//! transforms, SHA-256), as the last child of `<message>`: ECDSA P-256 (`ecdsa-sha256`, r‖s) or Ed25519
//! (RFC 9231 `eddsa-ed25519`). `KeyName` is the signing certificate's SHA-256 fingerprint, as the JWS `kid` is;
//! the receiver verifies with the certificate it registered for the sender.

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::Event;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::ExchangeError;
use crate::jws::MessageSigner;
use crate::pki::{Certificate, KeyAlgorithm};

/// The namespace of exchange messages, version 1.
pub const NAMESPACE: &str = "urn:kuzet:nccis-exchange:1";
/// The media type XML messages travel as.
pub const MEDIA_TYPE: &str = "application/xml";

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const EDDSA_ED25519: &str = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519";

const END: &str = "</message>";

/// How deep elements may nest: far more than any message needs (a STIX object inside a bundle is five deep), and
/// few enough that writing and dropping what was read never exhausts the stack.
const MAX_DEPTH: usize = 64;

fn invalid(reason: impl ToString) -> ExchangeError {
    ExchangeError::invalid("XML body", reason)
}

/// The payload's XSD type for each kind: the JSON Schema definition its `allOf` gives the kind.
fn payload_types() -> &'static HashMap<String, String> {
    static TYPES: OnceLock<HashMap<String, String>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut types = HashMap::new();
        let schema: Value = serde_json::from_str(crate::schema::SCHEMA_V1).unwrap_or_default();
        for rule in schema["allOf"].as_array().into_iter().flatten() {
            let kind = &rule["if"]["properties"]["kind"];
            let kinds = match (kind.get("const"), kind.get("enum")) {
                (Some(one), _) => vec![one.clone()],
                (None, Some(Value::Array(many))) => many.clone(),
                _ => Vec::new(),
            };
            let reference = rule["then"]["properties"]["payload"]["$ref"].as_str();
            if let Some(name) = reference.and_then(|r| r.strip_prefix("#/$defs/")) {
                for kind in kinds.iter().filter_map(Value::as_str) {
                    types.insert(kind.to_owned(), name.to_owned());
                }
            }
        }
        types
    })
}

/// The unsigned XML of a message's JSON value (already checked against the schema by the caller).
pub fn write(message: &Value) -> Result<String, ExchangeError> {
    let fields = message
        .as_object()
        .ok_or_else(|| invalid("a message is a JSON object"))?;
    let kind = fields.get("kind").and_then(Value::as_str).unwrap_or("");
    let payload_type = payload_types()
        .get(kind)
        .ok_or_else(|| invalid(format!("kind `{kind}` has no payload type")))?;
    let mut out = format!("<message xmlns=\"{NAMESPACE}\">");
    for (name, value) in sorted(fields) {
        if name == "payload" {
            let Value::Object(payload) = value else {
                return Err(invalid("field /payload: not an object"));
            };
            out.push_str(&format!(
                "<payload xmlns:xsi=\"{XSI}\" xsi:type=\"{payload_type}\">"
            ));
            for (name, value) in sorted(payload) {
                element(&mut out, name, value, &format!("/payload/{name}"))?;
            }
            out.push_str("</payload>");
        } else {
            element(&mut out, name, value, &format!("/{name}"))?;
        }
    }
    out.push_str(END);
    Ok(out)
}

fn sorted(fields: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut fields: Vec<(&str, &Value)> = fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    fields
}

/// Element names Kuzet writes: ASCII, a letter or `_` first, then letters, digits, `_`, `-` or `.`.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("xml"))
}

fn element(out: &mut String, name: &str, value: &Value, at: &str) -> Result<(), ExchangeError> {
    if !valid_name(name) {
        return Err(invalid(format!(
            "field {at}: `{name}` cannot be an XML element name"
        )));
    }
    let open = |out: &mut String, kind: Option<&str>| match kind {
        Some(kind) => out.push_str(&format!("<{name} type=\"{kind}\">")),
        None => out.push_str(&format!("<{name}>")),
    };
    match value {
        Value::String(text) => {
            open(out, None);
            escape_text(out, text, at)?;
        }
        Value::Number(number) => {
            open(out, Some("number"));
            out.push_str(&number.to_string());
        }
        Value::Bool(b) => {
            open(out, Some("boolean"));
            out.push_str(if *b { "true" } else { "false" });
        }
        Value::Null => open(out, Some("null")),
        Value::Array(items) => {
            open(out, Some("array"));
            for (i, item) in items.iter().enumerate() {
                element(out, "item", item, &format!("{at}/{i}"))?;
            }
        }
        Value::Object(fields) if fields.is_empty() => open(out, Some("object")),
        Value::Object(fields) => {
            open(out, None);
            for (field, value) in sorted(fields) {
                element(out, field, value, &format!("{at}/{field}"))?;
            }
        }
    }
    out.push_str(&format!("</{name}>"));
    Ok(())
}

/// Canonical XML text: `&`, `<`, `>` and carriage return escaped; characters XML 1.0 cannot carry refused.
fn escape_text(out: &mut String, text: &str, at: &str) -> Result<(), ExchangeError> {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(invalid(format!(
                    "field {at}: character U+{:04X} cannot travel in XML 1.0",
                    c as u32
                )));
            }
            c => out.push(c),
        }
    }
    Ok(())
}

/// One element being read.
struct Node {
    name: String,
    kind: Option<String>,
    fields: Vec<(String, Value)>,
    text: String,
}

impl Node {
    fn value(self) -> Result<Value, ExchangeError> {
        let Node {
            name,
            kind,
            fields,
            text,
        } = self;
        let at = |reason: &str| invalid(format!("element <{name}>: {reason}"));
        if !fields.is_empty() && !text.trim().is_empty() {
            return Err(at("text beside elements"));
        }
        let object = |fields: Vec<(String, Value)>| {
            let mut map = Map::new();
            for (field, value) in fields {
                if map.insert(field.clone(), value).is_some() {
                    return Err(at(&format!("<{field}> twice")));
                }
            }
            Ok(Value::Object(map))
        };
        match kind.as_deref() {
            None if fields.is_empty() => Ok(Value::String(text)),
            None | Some("object") => object(fields),
            Some("array") => fields
                .into_iter()
                .map(|(field, value)| match field.as_str() {
                    "item" => Ok(value),
                    other => Err(at(&format!("<{other}> in an array, expected <item>"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Some(_) if !fields.is_empty() => Err(at("elements in a scalar")),
            Some("number") => serde_json::from_str::<serde_json::Number>(&text)
                .map(Value::Number)
                .map_err(|_| at(&format!("`{text}` is not a number"))),
            Some("boolean") => match text.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(at(&format!("`{text}` is not true or false"))),
            },
            Some("null") if text.is_empty() => Ok(Value::Null),
            Some(other) => Err(at(&format!("type `{other}` is not one this format knows"))),
        }
    }
}

/// A document's parts: the unsigned canonical document (the signature taken out, as the enveloped-signature
/// transform does) and the `<Signature>` element, when there is one. A leading XML declaration is not part of
/// either.
fn split(bytes: &[u8]) -> Result<(String, Option<String>), ExchangeError> {
    let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8: {e}")))?;
    let mut text = text.trim_start_matches('\u{FEFF}');
    if text.starts_with("<?xml") {
        let end = text
            .find("?>")
            .ok_or_else(|| invalid("an XML declaration without its end"))?;
        text = text[end + 2..].trim_start();
    }
    let text = text.trim_end();
    let body = text
        .strip_suffix(END)
        .ok_or_else(|| invalid(format!("an exchange message ends with `{END}`")))?;
    let opening = format!("<Signature xmlns=\"{DSIG}\">");
    Ok(match body.rfind(&opening) {
        Some(at) => (format!("{}{END}", &body[..at]), Some(body[at..].to_owned())),
        None => (text.to_owned(), None),
    })
}

/// Reads an XML message into its JSON value: exactly the canonical form Kuzet writes, its signature (if any) set
/// aside. The value is still to be checked against the JSON Schema.
pub fn read(bytes: &[u8]) -> Result<Value, ExchangeError> {
    let (unsigned, _) = split(bytes)?;
    let value = parse(&unsigned)?;
    let canonical = write(&value)?;
    if canonical != unsigned {
        let at = canonical
            .bytes()
            .zip(unsigned.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(unsigned.len()));
        let near: String = unsigned.get(at..).unwrap_or("").chars().take(40).collect();
        return Err(invalid(format!(
            "not in the canonical form Kuzet reads (exclusive c14n, fields in name order, no whitespace \
             between elements): it differs at byte {at}, near `{near}`"
        )));
    }
    Ok(value)
}

/// Reads an XML message that was read with [`read`] when it arrived and then kept: its JSON value, without
/// writing it again to compare (what kept bytes are is not in doubt; a view over thousands of them should not pay
/// twice).
pub fn read_kept(bytes: &[u8]) -> Result<Value, ExchangeError> {
    parse(&split(bytes)?.0)
}

fn parse(text: &str) -> Result<Value, ExchangeError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    let xml = |e: quick_xml::Error| invalid(e);
    loop {
        let event = reader.read_event().map_err(xml)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    return Err(invalid("content after the message element"));
                }
                let name = std::str::from_utf8(e.name().as_ref())
                    .map_err(invalid)?
                    .to_owned();
                let mut kind = None;
                for attribute in e.attributes() {
                    let attribute = attribute.map_err(invalid)?;
                    if attribute.key.as_ref() == b"type" {
                        // raw: the canonical comparison refuses a value written any other way
                        kind = Some(String::from_utf8_lossy(&attribute.value).into_owned());
                    }
                }
                let node = Node {
                    name,
                    kind,
                    fields: Vec::new(),
                    text: String::new(),
                };
                if matches!(event, Event::Start(_)) {
                    if stack.len() >= MAX_DEPTH {
                        return Err(invalid(format!("elements nested deeper than {MAX_DEPTH}")));
                    }
                    stack.push(node);
                } else {
                    close(&mut stack, &mut root, node)?;
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| invalid("an end tag without its start"))?;
                close(&mut stack, &mut root, node)?;
            }
            Event::Text(t) => {
                let text = t.decode().map_err(invalid)?;
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(invalid("text outside the message element")),
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(xml)?
                        .map(String::from)
                        .ok_or_else(|| invalid("a character reference to nothing"))?
                } else {
                    let name = r.decode().map_err(invalid)?;
                    quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| {
                            invalid(format!("entity `&{name};` is not one XML predefines"))
                        })?
                        .to_owned()
                };
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&resolved),
                    None => return Err(invalid("text outside the message element")),
                }
            }
            Event::CData(_) => return Err(invalid("CDATA is not part of an exchange message")),
            Event::Comment(_) => {
                return Err(invalid("a comment is not part of an exchange message"));
            }
            Event::PI(_) | Event::Decl(_) => {
                return Err(invalid(
                    "a processing instruction is not part of an exchange message",
                ));
            }
            Event::DocType(_) => return Err(invalid("a DTD is not part of an exchange message")),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(invalid("the document ends inside an element"));
    }
    root.ok_or_else(|| invalid("no message element"))
}

fn close(stack: &mut [Node], root: &mut Option<Value>, node: Node) -> Result<(), ExchangeError> {
    let name = node.name.clone();
    match stack.last_mut() {
        Some(parent) => {
            let value = node.value()?;
            parent.fields.push((name, value));
        }
        None if name == "message" => *root = Some(node.value()?),
        None => {
            return Err(invalid(format!(
                "the root element is <{name}>, expected <message>"
            )));
        }
    }
    Ok(())
}

/// The XML-DSig `SignatureMethod` of a signer's algorithm.
fn method_of(algorithm: &str) -> Result<&'static str, ExchangeError> {
    match algorithm {
        "EdDSA" => Ok(EDDSA_ED25519),
        "ES256" => Ok(ECDSA_SHA256),
        other => Err(ExchangeError::signature(
            "XML message",
            format!("no XML signature method for the signer's algorithm `{other}`"),
        )),
    }
}

/// `SignedInfo`; `apex` gives it the namespace declaration exclusive c14n renders when it is signed alone.
fn signed_info(method: &str, digest: &str, apex: bool) -> String {
    let ns = if apex {
        format!(" xmlns=\"{DSIG}\"")
    } else {
        String::new()
    };
    format!(
        "<SignedInfo{ns}><CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></CanonicalizationMethod>\
         <SignatureMethod Algorithm=\"{method}\"></SignatureMethod><Reference URI=\"\"><Transforms>\
         <Transform Algorithm=\"{ENVELOPED}\"></Transform><Transform Algorithm=\"{EXC_C14N}\"></Transform>\
         </Transforms><DigestMethod Algorithm=\"{SHA256}\"></DigestMethod><DigestValue>{digest}</DigestValue>\
         </Reference></SignedInfo>"
    )
}

fn signature_element(method: &str, digest: &str, signature: &str, key_name: &str) -> String {
    format!(
        "<Signature xmlns=\"{DSIG}\">{}<SignatureValue>{signature}</SignatureValue><KeyInfo><KeyName>{key_name}\
         </KeyName></KeyInfo></Signature>",
        signed_info(method, digest, false)
    )
}

/// Signs an unsigned canonical document (from [`write`]): the signature goes in as `<message>`'s last child.
pub fn sign(unsigned: &str, signer: &dyn MessageSigner) -> Result<String, ExchangeError> {
    let method = method_of(signer.algorithm())?;
    let body = unsigned
        .strip_suffix(END)
        .ok_or_else(|| invalid(format!("an exchange message ends with `{END}`")))?;
    let digest = STANDARD.encode(Sha256::digest(unsigned.as_bytes()));
    let signature = STANDARD.encode(signer.sign(signed_info(method, &digest, true).as_bytes())?);
    let key_name = signer.key_id();
    if !key_name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b':')
    {
        return Err(ExchangeError::signature(
            "XML message",
            format!("key id `{key_name}` cannot be a KeyName"),
        ));
    }
    Ok(format!(
        "{body}{}{END}",
        signature_element(method, &digest, &signature, key_name)
    ))
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// Verifies the enveloped signature of an XML message with `certificate`'s key: the signature must be the one
/// form Kuzet makes, name that certificate, fit its key, and cover the document's canonical bytes.
pub fn verify(bytes: &[u8], certificate: &Certificate) -> Result<(), ExchangeError> {
    let bad = |reason: &str| ExchangeError::signature("message", reason);
    let (unsigned, signature) = split(bytes)?;
    let block = signature
        .ok_or_else(|| bad("an XML message carries an enveloped <Signature>; there is none"))?;
    let part = |open: &str, close: &str| {
        between(&block, open, close).ok_or_else(|| bad(&format!("the XML signature has no {open}")))
    };
    let method = part("<SignatureMethod Algorithm=\"", "\"")?;
    let digest = part("<DigestValue>", "</DigestValue>")?;
    let value = part("<SignatureValue>", "</SignatureValue>")?;
    let key_name = part("<KeyName>", "</KeyName>")?;
    if signature_element(method, digest, value, key_name) != block {
        return Err(bad(
            "the XML signature is not in the form Kuzet verifies (one enveloped reference, exclusive c14n, \
             SHA-256, a KeyName)",
        ));
    }
    if key_name != certificate.fingerprint {
        return Err(ExchangeError::signature(
            "message",
            format!(
                "signed by certificate {}, not by the sender's registered certificate {}",
                key_name.chars().take(64).collect::<String>(),
                certificate.fingerprint
            ),
        ));
    }
    let algorithm: &'static dyn aws_lc_rs::signature::VerificationAlgorithm =
        match (method, certificate.key_algorithm) {
            (EDDSA_ED25519, Some(KeyAlgorithm::Ed25519)) => &ED25519,
            (ECDSA_SHA256, Some(KeyAlgorithm::EcdsaP256)) => &ECDSA_P256_SHA256_FIXED,
            (method, _) => {
                return Err(ExchangeError::signature(
                    "message",
                    format!("signature method `{method}` does not fit the certificate's key"),
                ));
            }
        };
    if STANDARD.encode(Sha256::digest(unsigned.as_bytes())) != digest {
        return Err(bad(
            "the digest does not match: the message was changed after it was signed",
        ));
    }
    let signature = STANDARD
        .decode(value)
        .map_err(|_| bad("the SignatureValue is not base64"))?;
    UnparsedPublicKey::new(algorithm, &certificate.public_key)
        .verify(signed_info(method, digest, true).as_bytes(), &signature)
        .map_err(|_| bad("does not verify: the message or its signature was changed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::CertificateKey;
    use crate::pki::{Usage, issue, new_ca};

    fn signer(algorithm: KeyAlgorithm) -> CertificateKey {
        let ca = new_ca("CA", algorithm, 10).unwrap();
        let issued = issue(&ca, "isoc", &Usage::Client, algorithm, 10).unwrap();
        CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, "isoc").unwrap()
    }

    fn value() -> Value {
        serde_json::to_value(crate::message::tests::incident_message()).unwrap()
    }

    #[test]
    fn a_message_is_written_in_name_order_and_read_back_exactly() {
        let mut message = value();
        message["payload"]["title"] = Value::String("a < b & \"c\"\r\n\tend".into());
        let xml = write(&message).unwrap();
        assert!(xml.starts_with(&format!(
            "<message xmlns=\"{NAMESPACE}\"><created>2026-12-07T03:00:00Z</created>\
             <facilities type=\"array\"><item>scada-1</item></facilities><id>"
        )));
        assert!(xml.contains(&format!(
            "<payload xmlns:xsi=\"{XSI}\" xsi:type=\"incident\"><category>"
        )));
        assert!(xml.contains("<level type=\"number\">3</level>"));
        assert!(xml.contains("<personal_data type=\"boolean\">false</personal_data>"));
        assert!(xml.contains("<title>a &lt; b &amp; \"c\"&#xD;\n\tend</title>"));
        assert!(xml.ends_with("<version type=\"number\">1</version></message>"));
        assert_eq!(read(xml.as_bytes()).unwrap(), message);
        assert_eq!(read_kept(xml.as_bytes()).unwrap(), message);
    }

    #[test]
    fn open_values_keep_their_types() {
        let mut message = value();
        message["kind"] = "sighting".into();
        message["payload"] = serde_json::json!({"bundle": {"type": "bundle", "objects": [
            {"count": 2, "empty": {}, "list": [], "nothing": null, "nested": [[1.5, "x"]], "flag": true}
        ]}});
        let xml = write(&message).unwrap();
        assert!(xml.contains("<empty type=\"object\"></empty>"), "{xml}");
        assert_eq!(read(xml.as_bytes()).unwrap(), message);
    }

    #[test]
    fn what_xml_cannot_carry_is_refused_by_name() {
        let mut message = value();
        message["payload"]["title"] = Value::String("bell \u{7}".into());
        let error = write(&message).unwrap_err().to_string();
        assert_eq!(
            error,
            "message XML body: field /payload/title: character U+0007 cannot travel in XML 1.0"
        );
        let mut message = value();
        message["payload"]["2x"] = Value::Bool(true);
        let error = write(&message).unwrap_err().to_string();
        assert!(
            error.contains("`2x` cannot be an XML element name"),
            "{error}"
        );
    }

    #[test]
    fn other_forms_of_the_same_message_are_refused_with_where() {
        let xml = write(&value()).unwrap();
        let declared = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}\n");
        assert_eq!(read(declared.as_bytes()).unwrap(), value());
        for (changed, expect) in [
            (xml.replacen("<id>", "\n<id>", 1), "differs at byte"),
            (
                xml.replacen(
                    "<tenant>kaztransit</tenant>",
                    "<tenant><![CDATA[kaztransit]]></tenant>",
                    1,
                ),
                "CDATA",
            ),
            (xml.replacen("<id>", "<!-- c --><id>", 1), "comment"),
            (
                format!("<!DOCTYPE message [<!ENTITY x \"y\">]>{xml}"),
                "DTD",
            ),
            (xml.replacen("<id>", "<id >", 1), "differs at byte"),
            (
                xml.replacen("<tenant>kaztransit</tenant>", "<tenant>&x;</tenant>", 1),
                "entity `&x;`",
            ),
            (
                xml.replacen("type=\"number\">3<", "type=\"number\">three<", 1),
                "not a number",
            ),
            (xml.replacen("</message>", "", 1), "ends with"),
            (
                xml.replacen("<created>", "<created>1</created><created>", 1),
                "<created> twice",
            ),
            (
                xml.replacen("<created>", &"<a>".repeat(100_000), 1),
                "nested deeper than 64",
            ),
        ] {
            let error = read(changed.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(expect), "{error} (expected {expect})");
        }
    }

    #[test]
    fn a_signed_message_verifies_with_its_certificate_only() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            let (key, other) = (signer(algorithm), signer(algorithm));
            let signed = sign(&write(&value()).unwrap(), &key).unwrap();
            verify(signed.as_bytes(), key.certificate()).unwrap();
            assert_eq!(read(signed.as_bytes()).unwrap(), value());
            let error = verify(signed.as_bytes(), other.certificate()).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("not by the sender's registered certificate")
            );
            let tampered = signed.replacen(">3<", ">4<", 1);
            let error = verify(tampered.as_bytes(), key.certificate()).unwrap_err();
            assert!(
                error.to_string().contains("digest does not match"),
                "{error}"
            );
            let unsigned = write(&value()).unwrap();
            let error = verify(unsigned.as_bytes(), key.certificate()).unwrap_err();
            assert!(error.to_string().contains("there is none"), "{error}");
        }
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let key = signer(KeyAlgorithm::Ed25519);
        let signed = sign(&write(&value()).unwrap(), &key).unwrap();
        let value_of = between(&signed, "<SignatureValue>", "</SignatureValue>").unwrap();
        let mut forged = STANDARD.decode(value_of).unwrap();
        forged[0] ^= 1;
        let forged = signed.replacen(value_of, &STANDARD.encode(forged), 1);
        let error = verify(forged.as_bytes(), key.certificate()).unwrap_err();
        assert!(error.to_string().contains("does not verify"), "{error}");
        let method = signed.replacen(EDDSA_ED25519, ECDSA_SHA256, 1);
        let error = verify(method.as_bytes(), key.certificate()).unwrap_err();
        assert!(error.to_string().contains("does not fit"), "{error}");
        let extra = signed.replacen("<KeyInfo>", "<Object></Object><KeyInfo>", 1);
        let error = verify(extra.as_bytes(), key.certificate()).unwrap_err();
        assert!(error.to_string().contains("not in the form"), "{error}");
    }

    proptest::proptest! {
        #[test]
        fn any_text_round_trips_or_is_refused(text in "\\PC{0,40}|[\\x00-\\x7f]{0,40}") {
            let mut message = value();
            message["payload"]["title"] = Value::String(text);
            if let Ok(xml) = write(&message) {
                proptest::prop_assert_eq!(read(xml.as_bytes()).unwrap(), message);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = read(&bytes);
        }
    }
}
