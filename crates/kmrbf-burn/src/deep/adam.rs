//! Adam for the autoencoder, one fused pass per parameter.
//!
//! burn's `Adam` updates a parameter in about ten tensor operations (each a pass over the
//! parameter and a fresh buffer), and on the flex backend these run on one thread: on the
//! 64-500-500-2000 autoencoder (3.3 million parameters) they took a fifth of an epoch on two
//! threads. This is the same update (burn's defaults: `beta_1` 0.9, `beta_2` 0.999, epsilon
//! 1e-5 scaled by the bias correction, no weight decay) as one pass over the parameter, its
//! gradient and both moments, split over the worker threads in fixed chunks. Each entry's
//! update reads only that entry, so the result is the same bits for any thread count.
//!
//! The moments live on the host, in the order the module visits its parameters, and are saved
//! with the checkpoint in a small file of their own ([`Adam::save`] / [`Adam::load`]).

use std::io::Read;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// First bytes of a moments file (format version 1).
const MAGIC: &[u8; 16] = b"kmrbf-adam-v1\0\0\0";

/// Entries per parallel task: large enough that a task outweighs its dispatch.
const CHUNK: usize = 1 << 15;

/// Adam's state: the step count and the two moments of every parameter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Adam {
    /// Steps taken.
    time: u64,
    /// Per parameter, in the module's visiting order: (first moment, second moment), each as
    /// long as the parameter.
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-5;

impl Adam {
    /// A fresh state (no step taken).
    pub fn new() -> Self {
        Self::default()
    }

    /// Steps taken.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// One step at learning rate `lr` on every parameter of `module` that has a gradient in
    /// `grads`; returns the updated module (parameters keep their ids and `require_grad`).
    pub fn step<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        self.time += 1;
        let t = self.time.min(i32::MAX as u64) as i32;
        let bias2_sqrt = (1.0 - BETA_2.powi(t)).sqrt();
        let mut mapper = StepMapper {
            grads,
            moments: &mut self.moments,
            index: 0,
            lr: lr as f32,
            factor: bias2_sqrt / (1.0 - BETA_1.powi(t)),
            epsilon: EPSILON * bias2_sqrt,
        };
        module.map(&mut mapper)
    }

    /// Whether these moments belong to `module`: one pair per float parameter, in its visiting
    /// order, each as long as the parameter (or no step taken yet).
    pub fn fits<M: Module>(&self, module: &M) -> bool {
        struct Lengths(Vec<usize>);
        impl ModuleVisitor for Lengths {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.push(param.shape().num_elements());
            }
        }
        let mut lengths = Lengths(Vec::new());
        module.visit(&mut lengths);
        (self.time == 0 && self.moments.is_empty())
            || (self.moments.len() == lengths.0.len()
                && self
                    .moments
                    .iter()
                    .zip(&lengths.0)
                    .all(|((m, v), &len)| m.len() == len && v.len() == len))
    }

    /// Writes the state to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |e: std::io::Error| Error::Checkpoint {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let floats: usize = self.moments.iter().map(|(m, _)| 2 * m.len()).sum();
        let mut out = Vec::with_capacity(32 + 8 * self.moments.len() + 4 * floats);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&(self.moments.len() as u64).to_le_bytes());
        for (m, v) in &self.moments {
            out.extend_from_slice(&(m.len() as u64).to_le_bytes());
            for x in m.iter().chain(v) {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        std::fs::write(path, out).map_err(io)
    }

    /// Reads a state written by [`Adam::save`]; anything else (another format, a truncated
    /// file, non-finite moments, trailing bytes) is an [`Error::Checkpoint`] naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Checkpoint {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let mut r = &bytes[..];
        let mut magic = [0u8; 16];
        r.read_exact(&mut magic)
            .ok()
            .filter(|_| &magic == MAGIC)
            .ok_or_else(|| bad("not an optimizer state of kmrbf".into()))?;
        let mut word = || -> Result<u64> {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)
                .map_err(|_| bad("truncated optimizer state".into()))?;
            Ok(u64::from_le_bytes(b))
        };
        let time = word()?;
        let count = word()?;
        let mut rest_len = bytes.len() - 32;
        let mut moments = Vec::new();
        let mut at = 32;
        for _ in 0..count {
            if rest_len < 8 {
                return Err(bad("truncated optimizer state".into()));
            }
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes")) as usize;
            at += 8;
            rest_len -= 8;
            let need = len
                .checked_mul(8)
                .filter(|&b| b <= rest_len)
                .ok_or_else(|| bad("truncated optimizer state".into()))?;
            let vals: Vec<f32> = bytes[at..at + need]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            if vals.iter().any(|v| !v.is_finite()) {
                return Err(bad("optimizer moments are not finite".into()));
            }
            at += need;
            rest_len -= need;
            let (m, v) = vals.split_at(len);
            moments.push((m.to_vec(), v.to_vec()));
        }
        if rest_len != 0 {
            return Err(bad("trailing bytes after the optimizer state".into()));
        }
        Ok(Self { time, moments })
    }
}

/// Visits the module's float parameters in order and updates those with a gradient.
struct StepMapper<'a> {
    grads: GradientsParams,
    moments: &'a mut Vec<(Vec<f32>, Vec<f32>)>,
    index: usize,
    lr: f32,
    /// `sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    factor: f32,
    /// `epsilon * sqrt(1 - beta_2^t)`.
    epsilon: f32,
}

impl ModuleMapper for StepMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let index = self.index;
        self.index += 1;
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let (autodiff, require_grad) = (tensor.is_autodiff(), tensor.is_require_grad());
        let dims = tensor.dims();
        let inner = tensor.inner();
        let device = inner.device();
        let mut w = host(inner.into_data());
        let g = host(grad.inner().into_data());
        if self.moments.len() <= index {
            self.moments.resize_with(index + 1, Default::default);
        }
        let (m, v) = &mut self.moments[index];
        if m.len() != w.len() {
            *m = vec![0.0; w.len()];
            *v = vec![0.0; w.len()];
        }
        let (lr, factor, epsilon) = (self.lr, self.factor, self.epsilon);
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((w, g), m), v)| {
                for i in 0..w.len() {
                    let gi = g[i];
                    m[i] = BETA_1 * m[i] + (1.0 - BETA_1) * gi;
                    v[i] = BETA_2 * v[i] + (1.0 - BETA_2) * (gi * gi);
                    let delta = m[i] * factor / (v[i].sqrt() + epsilon);
                    w[i] -= lr * delta;
                }
            });
        let mut updated = Tensor::<D>::from_data(TensorData::new(w, dims), &device);
        if autodiff {
            updated = updated.autodiff();
        }
        if require_grad {
            updated = updated.require_grad();
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

fn host(data: TensorData) -> Vec<f32> {
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .expect("an f32 tensor")
}
