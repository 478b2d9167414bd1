//! The mesh between shards and the services each shard runs, Seastar's `sharded<T>` in glommio terms.
//!
//! Every shard keeps one instance of each service (its partitions, its group coordinator slice, the
//! controller on `CONTROLLER_SHARD` only) in its `Mesh`. A [`Sharded<T>`] handle reaches the local
//! instance, or runs a closure on another shard's instance (`invoke_on`): the closure travels as a boxed
//! job over glommio's channel mesh and finds `T` in the target's service list. Code that needs a service
//! holds its handle only, never the whole shard.

use glommio::channels::channel_mesh::{Receivers, Senders};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use tracing::error;

pub type ShardId = usize;

/// The shard hosting the controller (topic metadata changes, producer id blocks).
pub const CONTROLLER_SHARD: ShardId = 0;

/// Work sent to another shard: runs there with that shard's mesh (and so its services).
pub type Job = Box<dyn FnOnce(Rc<Mesh>) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// One shard's end of the mesh and the services it runs.
pub struct Mesh {
    id: ShardId,
    count: usize,
    /// `None` for a mesh of one shard without channels (`Mesh::single`).
    senders: Option<Senders<Job>>,
    /// Few entries (one per service type): a scan beats hashing.
    services: RefCell<Vec<(TypeId, Rc<dyn Any>)>>,
}

impl Mesh {
    pub fn join(senders: Senders<Job>) -> Rc<Mesh> {
        Rc::new(Mesh {
            id: senders.peer_id(),
            count: senders.nr_consumers(),
            senders: Some(senders),
            services: RefCell::default(),
        })
    }

    /// A mesh of this shard alone: every job runs inline (unit tests, single-service tools).
    pub fn single() -> Rc<Mesh> {
        Rc::new(Mesh {
            id: 0,
            count: 1,
            senders: None,
            services: RefCell::default(),
        })
    }

    pub fn id(&self) -> ShardId {
        self.id
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// Makes `service` this shard's instance of `T` (replacing any earlier one).
    pub fn provide<T: 'static>(&self, service: Rc<T>) {
        let mut services = self.services.borrow_mut();
        services.retain(|(id, _)| *id != TypeId::of::<T>());
        services.push((TypeId::of::<T>(), service));
    }

    /// This shard's instance of `T`, if it runs one.
    pub fn service<T: 'static>(&self) -> Option<Rc<T>> {
        let services = self.services.borrow();
        let (_, any) = services.iter().find(|(id, _)| *id == TypeId::of::<T>())?;
        any.clone().downcast().ok()
    }

    /// A handle on every shard's instance of `T`.
    pub fn handle<T: 'static>(self: &Rc<Self>) -> Sharded<T> {
        Sharded {
            mesh: self.clone(),
            service: PhantomData,
        }
    }

    /// Runs every job other shards send here, each as its own task (a parked fetch must not block others).
    pub fn start_receivers(self: &Rc<Self>, mut receivers: Receivers<Job>) {
        for (_, rx) in receivers.streams() {
            let mesh = self.clone();
            glommio::spawn_local(async move {
                while let Some(job) = rx.recv().await {
                    glommio::spawn_local(job(mesh.clone())).detach();
                }
            })
            .detach();
        }
    }

    /// Runs `f` on shard `target` and returns its result here (one mesh message each way). On the own
    /// shard it simply runs inline. `None` when the mesh is closed.
    pub async fn run_on<R, F, Fut>(self: &Rc<Self>, target: ShardId, f: F) -> Option<R>
    where
        R: Send + 'static,
        F: FnOnce(Rc<Mesh>) -> Fut + Send + 'static,
        Fut: Future<Output = R> + 'static,
    {
        let senders = match &self.senders {
            Some(senders) if target != self.id => senders,
            _ => return Some(f(self.clone()).await),
        };
        // The result travels back over the mesh as a job of its own, and the oneshot is completed on
        // this (the waiting) shard: a task's waker is never woken from another thread. (glommio's
        // cross-thread wake-ups raced with task teardown under load: double frees.)
        let (tx, rx) = futures_channel::oneshot::channel();
        let origin = self.id;
        let job: Job = Box::new(move |mesh| {
            Box::pin(async move {
                let result = f(mesh.clone()).await;
                let reply: Job = Box::new(move |_| {
                    Box::pin(async move {
                        let _ = tx.send(result);
                    })
                });
                mesh.send(origin, reply).await;
            })
        });
        self.send_with(senders, target, job).await?;
        rx.await.ok()
    }

    async fn send(&self, target: ShardId, job: Job) {
        if let Some(senders) = &self.senders {
            self.send_with(senders, target, job).await;
        }
    }

    async fn send_with(&self, senders: &Senders<Job>, target: ShardId, job: Job) -> Option<()> {
        if senders.send_to(target, job).await.is_err() {
            error!(from = self.id, to = target, "mesh channel closed");
            return None;
        }
        Some(())
    }

    /// Returns once every other shard has finished its startup (log recovery), so no shard accepts
    /// clients while a partition it may forward to is still being recovered. A job only runs on a shard
    /// after its startup code yields, so one round trip to each peer is enough.
    pub async fn wait_for_peers_started(self: &Rc<Self>) {
        for peer in (0..self.count).filter(|&p| p != self.id) {
            self.run_on(peer, |_| async {}).await;
        }
    }
}

/// A handle on every shard's instance of the service `T` (Seastar's `sharded<T>`).
pub struct Sharded<T> {
    mesh: Rc<Mesh>,
    service: PhantomData<fn() -> T>,
}

impl<T> Clone for Sharded<T> {
    fn clone(&self) -> Self {
        Sharded {
            mesh: self.mesh.clone(),
            service: PhantomData,
        }
    }
}

impl<T: 'static> Sharded<T> {
    /// The shard this handle is on.
    pub fn shard(&self) -> ShardId {
        self.mesh.id
    }

    /// How many shards the node runs.
    pub fn shards(&self) -> usize {
        self.mesh.count
    }

    /// This shard's instance, if it runs one.
    pub fn local(&self) -> Option<Rc<T>> {
        self.mesh.service()
    }

    /// Runs `f` with shard `target`'s instance and returns its result here; `None` when that shard
    /// runs no `T` or the mesh is closed.
    pub async fn invoke_on<R, F, Fut>(&self, target: ShardId, f: F) -> Option<R>
    where
        R: Send + 'static,
        F: FnOnce(Rc<T>) -> Fut + Send + 'static,
        Fut: Future<Output = R> + 'static,
    {
        self.mesh
            .run_on(target, move |mesh| async move {
                match mesh.service::<T>() {
                    Some(service) => Some(f(service).await),
                    None => None,
                }
            })
            .await
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(std::cell::Cell<u32>);

    #[test]
    fn a_single_mesh_runs_jobs_inline_on_its_own_services() {
        glommio::LocalExecutor::default().run(async {
            let mesh = Mesh::single();
            mesh.provide(Rc::new(Counter(std::cell::Cell::new(1))));
            let counters = mesh.handle::<Counter>();
            let seen = counters
                .invoke_on(0, |c| async move {
                    c.0.set(c.0.get() + 1);
                    c.0.get()
                })
                .await;
            assert_eq!(seen, Some(2));
            assert_eq!(counters.local().map(|c| c.0.get()), Some(2));
            assert!(mesh
                .handle::<String>()
                .invoke_on(0, |_| async {})
                .await
                .is_none());
        });
    }
}
