//! Helpers shared by the fuzz targets.

use shardlog::storage::batch::BatchHeader;

/// `data` with the CRC field of each whole batch (walking the batch lengths) set to its CRC-32C.
/// Random bytes almost never carry a valid CRC-32C; fixing it up lets the fuzzer reach the checks after.
pub fn with_valid_crcs(data: &[u8]) -> Vec<u8> {
    const CRC_AT: usize = 17;
    const CRC_START: usize = 21;
    let mut out = data.to_vec();
    let mut pos = 0;
    while let Ok(header) = BatchHeader::parse(&out[pos..]) {
        let len = header.total_len();
        if len > out.len() - pos {
            break;
        }
        let crc = crc32c::crc32c(&out[pos + CRC_START..pos + len]);
        out[pos + CRC_AT..pos + CRC_START].copy_from_slice(&crc.to_be_bytes());
        pos += len;
    }
    out
}
