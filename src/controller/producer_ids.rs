//! Producer ids for idempotent producers, reserved in blocks so most allocations need no commit.

use super::*;

impl Controller {
    /// A fresh producer id. Blocks are reserved through a metadata change that moves the block end
    /// (computed on the image the change is installed on), so blocks of different nodes never overlap.
    pub async fn allocate_producer_id(&self) -> Result<i64, ControllerError> {
        if self.next_producer_id.get() >= self.producer_id_limit.get() {
            let start = self
                .commit(|image| {
                    let start = image.producer_id_block_end;
                    image.producer_id_block_end = start + PRODUCER_ID_BLOCK;
                    Ok(start)
                })
                .await?;
            self.next_producer_id.set(start);
            self.producer_id_limit.set(start + PRODUCER_ID_BLOCK);
        }
        let id = self.next_producer_id.get();
        self.next_producer_id.set(id + 1);
        Ok(id)
    }
}

/// Producer ids are handed out from blocks; only the block's end is persisted.
const PRODUCER_ID_BLOCK: i64 = 1000;
