//! The produce path's batch parser alone, on arbitrary record sets (raw, and with CRCs fixed up).
//! Separate from `request_decoder` so it keeps running while decoder inputs abort (see README.md).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use shardlog::storage::batch::validate_record_set;
use shardlog_fuzz::with_valid_crcs;

/// message.max.bytes default: what `produce` passes as the batch size limit.
const MAX_MESSAGE_BYTES: usize = 1_048_588;

fuzz_target!(|data: &[u8]| {
    let _ = validate_record_set(&Bytes::copy_from_slice(data), MAX_MESSAGE_BYTES);
    let _ = validate_record_set(&Bytes::from(with_valid_crcs(data)), MAX_MESSAGE_BYTES);
});
