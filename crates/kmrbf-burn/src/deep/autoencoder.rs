//! A fully connected autoencoder: `d -> h_1 -> ... -> e -> ... -> h_1 -> d`, ReLU between
//! layers, linear embedding and linear reconstruction.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

/// The widths of an autoencoder.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AutoencoderConfig {
    /// `[d, h_1, ..., e]`: the input width, the hidden widths, the embedding width.
    pub widths: Vec<usize>,
}

impl AutoencoderConfig {
    /// An encoder through `widths` (`[d, h_1, ..., e]`, at least two entries) and its mirror.
    pub fn new(widths: Vec<usize>) -> Self {
        Self { widths }
    }

    /// The embedding width `e`.
    pub fn embedding(&self) -> usize {
        *self.widths.last().expect("at least two widths")
    }

    /// A freshly initialized autoencoder: weights and biases uniform in
    /// `[-1/sqrt(fan_in), 1/sqrt(fan_in)]` (burn's and PyTorch's default for linear layers),
    /// drawn from kmrbf's random stream of `seed` (not the device's shared generator, so runs
    /// in one process do not disturb each other).
    pub fn init(&self, device: &Device, seed: u64) -> Autoencoder {
        let w = &self.widths;
        let mut rng = kmrbf::rng::Rng::fork(seed, 0x6165_0000_0000_0000);
        let encoder = w
            .windows(2)
            .map(|p| linear(p[0], p[1], &mut rng, device))
            .collect();
        let decoder = w
            .windows(2)
            .rev()
            .map(|p| linear(p[1], p[0], &mut rng, device))
            .collect();
        Autoencoder { encoder, decoder }
    }
}

/// Encoder and decoder, each a stack of [`Linear`] layers.
#[derive(Module, Debug)]
pub struct Autoencoder {
    /// `d -> ... -> e`.
    pub encoder: Vec<Linear>,
    /// `e -> ... -> d`.
    pub decoder: Vec<Linear>,
}

fn linear(d_in: usize, d_out: usize, rng: &mut kmrbf::rng::Rng, device: &Device) -> Linear {
    let bound = 1.0 / (d_in as f64).sqrt();
    let mut draw = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32)
            .collect()
    };
    let weight = Tensor::<2>::from_data(TensorData::new(draw(d_in * d_out), [d_in, d_out]), device);
    let bias = Tensor::<1>::from_data(TensorData::new(draw(d_out), [d_out]), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}

fn stack(layers: &[Linear], mut x: Tensor<2>) -> Tensor<2> {
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        x = layer.forward(x);
        if i < last {
            x = relu(x);
        }
    }
    x
}

impl Autoencoder {
    /// `x`: `[n, d]` -> the embedding `[n, e]`.
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        stack(&self.encoder, x)
    }

    /// `z`: `[n, e]` -> the reconstruction `[n, d]`.
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        stack(&self.decoder, z)
    }
}
