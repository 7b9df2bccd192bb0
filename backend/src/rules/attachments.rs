//! What an attached file is, told from its first bytes (its magic number, through the
//! `infer` crate), never from its name or the type the uploader claims: a `.pdf` that
//! holds HTML is HTML, and is refused.
//!
//! `infer` takes `%PDF` anywhere in the first KiB for a PDF (as Acrobat reads them), so
//! an HTML page with `<!-- %PDF -->` near its top would pass; a PDF here must begin
//! with its header.

use domain::FileType;

/// The kind of file `bytes` hold, if it is one the app takes.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    let kind = infer::get(bytes).and_then(|kind| FileType::from_mime(kind.mime_type()))?;
    (kind != FileType::Pdf || bytes.starts_with(b"%PDF-")).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_by_content() {
        let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n";
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
        assert_eq!(sniff(pdf), Some(FileType::Pdf));
        assert_eq!(sniff(png), Some(FileType::Png));
        assert_eq!(sniff(jpeg), Some(FileType::Jpeg));
        for refused in [
            &b"<!DOCTYPE html><html><script>alert(1)</script></html>"[..],
            b"GIF89a\x01\0\x01\0\0\0\0;",
            b"PK\x03\x04 a zip or an office file",
            b"MZ\x90\0 an executable",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            b"plain text that says %PDF-1.7 later on",
            b"<html><!-- %PDF-1.7 --><script>alert(1)</script></html>",
            b"",
        ] {
            assert_eq!(
                sniff(refused),
                None,
                "{:?}",
                String::from_utf8_lossy(refused)
            );
        }
    }
}
