//! The log start offset checkpoint: DeleteRecords can move a partition's start into the middle of a
//! segment, which the segment files alone cannot express, so it is persisted next to them
//! (`log-start-offset`: the offset, big-endian, then its CRC-32 from crc32fast; written atomically).

use std::io::{self, Write};
use std::path::Path;

const FILE_NAME: &str = "log-start-offset";

pub fn write_log_start(dir: &Path, offset: i64) -> io::Result<()> {
    let mut bytes = offset.to_be_bytes().to_vec();
    bytes.extend_from_slice(&crc32fast::hash(&offset.to_be_bytes()).to_be_bytes());
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(FILE_NAME))
}

/// The checkpointed start offset; `None` if there is none or it is damaged (then segments decide).
pub fn read_log_start(dir: &Path) -> Option<i64> {
    let bytes = std::fs::read(dir.join(FILE_NAME)).ok()?;
    let (offset, crc) = (bytes.get(0..8)?, bytes.get(8..12)?);
    (crc32fast::hash(offset).to_be_bytes() == crc)
        .then(|| i64::from_be_bytes(offset.try_into().expect("8 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_is_ignored() {
        let dir = std::env::temp_dir().join(format!("shardlog-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read_log_start(&dir), None);
        write_log_start(&dir, 1234).unwrap();
        assert_eq!(read_log_start(&dir), Some(1234));
        std::fs::write(dir.join(FILE_NAME), [0u8; 12]).unwrap();
        assert_eq!(read_log_start(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
