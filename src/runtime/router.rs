//! Splitting a request by partition owner: every (topic, partition) item runs on the shard that owns the
//! partition, all shards work at once, and results come back in the request's order.

use super::mesh::Sharded;
use super::partitions::Partitions;
use crate::cluster::metadata::PartitionRoute;
use crate::cluster::view::MetadataView;
use crate::storage::PartitionLog;
use kafka_protocol::messages::TopicName;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;

/// What splitting by owner needs: this shard's metadata (who owns what) and every shard's partitions.
#[derive(Clone)]
pub struct Router {
    pub metadata: Rc<MetadataView>,
    pub partitions: Sharded<Partitions>,
}

/// One item addressed to a partition.
pub struct PartitionItem<I> {
    pub topic: String,
    pub partition: i32,
    pub input: I,
}

/// Runs `f` for each item on its owning shard (with `None` when the partition does not exist) and returns
/// the outputs in item order. Items of one shard start in item order, so appends keep the request's order.
pub async fn on_owners<I, O, F, Fut>(router: &Router, items: Vec<PartitionItem<I>>, f: F) -> Vec<O>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Option<Rc<PartitionLog>>, I) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = O> + 'static,
{
    let metadata = router.metadata.get();
    let count = items.len();
    let mut by_shard: BTreeMap<usize, Vec<(usize, PartitionItem<I>)>> = BTreeMap::new();
    for (i, item) in items.into_iter().enumerate() {
        let owner = metadata
            .shard_of(&item.topic, item.partition)
            .unwrap_or(router.partitions.shard());
        by_shard.entry(owner).or_default().push((i, item));
    }
    let tasks: Vec<_> = by_shard
        .into_iter()
        .map(|(owner, group)| {
            let f = f.clone();
            let partitions = router.partitions.clone();
            glommio::spawn_local(async move {
                partitions
                    .invoke_on(owner, move |p| run_local(p, group, f))
                    .await
                    .unwrap_or_default()
            })
        })
        .collect();
    let mut out: Vec<Option<O>> = (0..count).map(|_| None).collect();
    for task in tasks {
        for (i, o) in task.await {
            out[i] = Some(o);
        }
    }
    out.into_iter()
        .map(|o| o.expect("every item is answered by its shard"))
        .collect()
}

/// `on_owners` for the data path (Produce, Fetch, ListOffsets): items for partitions another node
/// leads are answered by `elsewhere` (NOT_LEADER_OR_FOLLOWER) without leaving this shard, so clients
/// refresh their metadata and go to the leader.
pub async fn on_leaders<I, O, F, Fut, E>(
    router: &Router,
    items: Vec<PartitionItem<I>>,
    f: F,
    elsewhere: E,
) -> Vec<O>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Option<Rc<PartitionLog>>, I) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = O> + 'static,
    E: Fn(I) -> O,
{
    let metadata = router.metadata.get();
    let mut out: Vec<Option<O>> = (0..items.len()).map(|_| None).collect();
    let mut here = Vec::with_capacity(items.len());
    let mut positions = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if metadata.route(&item.topic, item.partition) == PartitionRoute::Elsewhere {
            out[i] = Some(elsewhere(item.input));
        } else {
            positions.push(i);
            here.push(item);
        }
    }
    for (i, o) in positions.into_iter().zip(on_owners(router, here, f).await) {
        out[i] = Some(o);
    }
    out.into_iter()
        .map(|o| o.expect("every item is answered"))
        .collect()
}

async fn run_local<I, O, F, Fut>(
    partitions: Rc<Partitions>,
    group: Vec<(usize, PartitionItem<I>)>,
    f: F,
) -> Vec<(usize, O)>
where
    F: Fn(Option<Rc<PartitionLog>>, I) -> Fut,
    Fut: Future<Output = O> + 'static,
    O: 'static,
{
    let tasks: Vec<_> = group
        .into_iter()
        .map(|(i, item)| {
            let fut = f(partitions.get(&item.topic, item.partition), item.input);
            (i, glommio::spawn_local(fut))
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for (i, t) in tasks {
        out.push((i, t.await));
    }
    out
}

/// A request's topics, each with its (partition, input) pairs.
pub type TopicItems<I> = Vec<(TopicName, Vec<(i32, I)>)>;

/// `on_owners` for the common request shape "topics, each with partitions": returns, per topic, its
/// name and the outputs of its partitions, in request order.
pub async fn on_owners_by_topic<I, O, F, Fut>(
    router: &Router,
    topics: TopicItems<I>,
    f: F,
) -> Vec<(TopicName, Vec<O>)>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Option<Rc<PartitionLog>>, I) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = O> + 'static,
{
    let (shape, items) = flatten(topics);
    regroup(shape, on_owners(router, items, f).await)
}

/// `on_leaders` for the "topics, each with partitions" shape.
pub async fn on_leaders_by_topic<I, O, F, Fut, E>(
    router: &Router,
    topics: TopicItems<I>,
    f: F,
    elsewhere: E,
) -> Vec<(TopicName, Vec<O>)>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Option<Rc<PartitionLog>>, I) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = O> + 'static,
    E: Fn(I) -> O,
{
    let (shape, items) = flatten(topics);
    regroup(shape, on_leaders(router, items, f, elsewhere).await)
}

/// Each topic's name and partition count, and all items in request order.
fn flatten<I>(topics: TopicItems<I>) -> (Vec<(TopicName, usize)>, Vec<PartitionItem<I>>) {
    let mut shape = Vec::with_capacity(topics.len());
    let mut items = Vec::new();
    for (name, partitions) in topics {
        let topic = name.0.to_string();
        shape.push((name, partitions.len()));
        items.extend(
            partitions
                .into_iter()
                .map(|(partition, input)| PartitionItem {
                    topic: topic.clone(),
                    partition,
                    input,
                }),
        );
    }
    (shape, items)
}

fn regroup<O>(shape: Vec<(TopicName, usize)>, outputs: Vec<O>) -> Vec<(TopicName, Vec<O>)> {
    let mut outputs = outputs.into_iter();
    shape
        .into_iter()
        .map(|(key, n)| (key, outputs.by_ref().take(n).collect()))
        .collect()
}
