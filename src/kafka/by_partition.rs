//! The skeleton of every "topics, each with partitions" request answered by the partitions' leaders
//! (DeleteRecords, ListOffsets, OffsetForLeaderEpoch): the caller has checked each topic's ACL; the
//! allowed topics' partitions run on their owning shards, the others are answered at once, and the
//! answer lists every topic in request order.

use crate::runtime::router::{on_leaders_by_topic, Router};
use crate::storage::PartitionLog;
use kafka_protocol::messages::TopicName;
use std::future::Future;
use std::rc::Rc;

/// One topic of the request: its name, its (partition, input) pairs, and whether the principal may
/// run the request on it.
pub struct Topic<I> {
    pub name: TopicName,
    pub partitions: Vec<(i32, I)>,
    pub allowed: bool,
}

/// Runs `f` on the leader's shard for every partition of an allowed topic (`elsewhere` answers the
/// partitions another node leads, `refused` those of a topic the principal may not use) and returns
/// every topic's (name, answers) in request order.
pub async fn answer<I, O, F, Fut, E, R>(
    router: &Router,
    topics: Vec<Topic<I>>,
    f: F,
    elsewhere: E,
    refused: R,
) -> Vec<(TopicName, Vec<O>)>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Option<Rc<PartitionLog>>, I) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = O> + 'static,
    E: Fn(I) -> O,
    R: Fn(I) -> O,
{
    let mut order = Vec::with_capacity(topics.len());
    let mut routed = Vec::new();
    for t in topics {
        if t.allowed {
            order.push(None);
            routed.push((t.name, t.partitions));
        } else {
            let answers = t.partitions.into_iter().map(|(_, i)| refused(i)).collect();
            order.push(Some((t.name, answers)));
        }
    }
    let mut routed = on_leaders_by_topic(router, routed, f, elsewhere)
        .await
        .into_iter();
    order
        .into_iter()
        .map(|answered| {
            answered.unwrap_or_else(|| routed.next().expect("one answer per routed topic"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::view::MetadataView;
    use crate::runtime::mesh::Mesh;
    use crate::runtime::partitions::Partitions;

    fn topic(name: &str, partitions: &[i32], allowed: bool) -> Topic<i32> {
        Topic {
            name: TopicName(name.to_string().into()),
            partitions: partitions.iter().map(|&p| (p, p)).collect(),
            allowed,
        }
    }

    /// A refused topic between two allowed ones keeps its place, and only allowed partitions reach the
    /// partition function (here on a one-shard mesh with no partitions: every log is unknown).
    #[test]
    fn refused_topics_are_answered_in_request_order() {
        glommio::LocalExecutor::default().run(async {
            let mesh = Mesh::single();
            mesh.provide(Rc::new(Partitions::default()));
            let router = Router {
                metadata: Rc::new(MetadataView::default()),
                partitions: mesh.handle(),
            };
            let topics = vec![
                topic("a", &[0, 1], true),
                topic("b", &[0], false),
                topic("c", &[3], true),
            ];
            let answers = answer(
                &router,
                topics,
                |log, p| async move { format!("ran {p} known={}", log.is_some()) },
                |p| format!("elsewhere {p}"),
                |p| format!("refused {p}"),
            )
            .await;
            let flat: Vec<(String, Vec<String>)> = answers
                .into_iter()
                .map(|(name, out)| (name.0.to_string(), out))
                .collect();
            assert_eq!(
                flat,
                vec![
                    (
                        "a".into(),
                        vec!["ran 0 known=false".into(), "ran 1 known=false".into()]
                    ),
                    ("b".into(), vec!["refused 0".into()]),
                    ("c".into(), vec!["ran 3 known=false".into()]),
                ]
            );
        });
    }
}
