//! Internal errors mapped to Kafka error codes at the protocol edge.

use crate::cluster::reassignment::ReassignError;
use crate::controller::ControllerError;
use crate::quorum::QuorumError;
use crate::storage::admission::AdmissionError;
use crate::storage::batch::BatchError;
use crate::storage::producer_state::SequenceError;
use crate::storage::{AppendError, ReadError};
use kafka_protocol::ResponseError;

pub fn controller_code(e: &ControllerError) -> ResponseError {
    match e {
        ControllerError::TopicExists(_) => ResponseError::TopicAlreadyExists,
        ControllerError::UnknownTopic(_) => ResponseError::UnknownTopicOrPartition,
        ControllerError::InvalidTopic(_) => ResponseError::InvalidTopicException,
        ControllerError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        ControllerError::InvalidReplicationFactor { .. } => ResponseError::InvalidReplicationFactor,
        // AlterPartition's answer to a stale leader; only leaders' ISR updates meet it.
        ControllerError::StaleIsrChange { .. } => ResponseError::FencedLeaderEpoch,
        ControllerError::InvalidConfig(_) => ResponseError::InvalidConfig,
        ControllerError::Persist(_) => ResponseError::KafkaStorageError,
        ControllerError::NoBrokers => ResponseError::InvalidReplicationFactor,
        ControllerError::Quorum(QuorumError::NoLeader) => ResponseError::NotController,
        ControllerError::Quorum(QuorumError::Timeout(_)) | ControllerError::Contended => {
            ResponseError::RequestTimedOut
        }
        ControllerError::Quorum(_) => ResponseError::KafkaStorageError,
        ControllerError::Credentials(_) => ResponseError::InvalidRequest,
        ControllerError::Reassign(ReassignError::UnknownPartition(..)) => {
            ResponseError::UnknownTopicOrPartition
        }
        ControllerError::Reassign(ReassignError::InvalidAssignment(_)) => {
            ResponseError::InvalidReplicaAssignment
        }
        ControllerError::Reassign(ReassignError::NoneInProgress(..)) => {
            ResponseError::NoReassignmentInProgress
        }
    }
}

fn batch_code(e: &BatchError) -> ResponseError {
    match e {
        BatchError::TooLarge { .. } => ResponseError::MessageTooLarge,
        BatchError::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
        _ => ResponseError::CorruptMessage,
    }
}

pub fn append_code(e: &AppendError) -> ResponseError {
    match e {
        AppendError::Batch(b) => batch_code(b),
        AppendError::Admission(AdmissionError::InvalidTimestamp(_)) => {
            ResponseError::InvalidTimestamp
        }
        AppendError::Admission(AdmissionError::MissingKey(_) | AdmissionError::ControlBatch) => {
            ResponseError::InvalidRecord
        }
        AppendError::Admission(a) => a
            .batch_error()
            .map_or(ResponseError::CorruptMessage, batch_code),
        AppendError::Sequence(SequenceError::OutOfOrder { .. }) => {
            ResponseError::OutOfOrderSequenceNumber
        }
        AppendError::Sequence(SequenceError::FencedEpoch { .. }) => {
            ResponseError::InvalidProducerEpoch
        }
        AppendError::Marker(_) => ResponseError::TransactionCoordinatorFenced,
        // Only a follower's append can diverge; no client sees it.
        AppendError::Storage(_) | AppendError::Diverged { .. } => ResponseError::KafkaStorageError,
    }
}

pub fn read_code(e: &ReadError) -> ResponseError {
    match e {
        ReadError::OutOfRange { .. } => ResponseError::OffsetOutOfRange,
        ReadError::Storage(_) => ResponseError::KafkaStorageError,
    }
}
