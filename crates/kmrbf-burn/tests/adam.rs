//! The fused Adam of the deep-clustering trainer against burn's own Adam, its thread
//! independence, and its moments file.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use kmrbf_burn::deep::adam::Adam;
use kmrbf_burn::deep::{Autoencoder, AutoencoderConfig};
use kmrbf_burn::Error;

/// Every float parameter of a module, flattened in visiting order.
fn flat(ae: &Autoencoder) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = param.val().inner().into_data();
            self.0
                .extend(data.convert::<f32>().try_into_vec::<f32>().unwrap());
        }
    }
    let mut c = Collect(Vec::new());
    ae.visit(&mut c);
    c.0
}

/// A batch of 64 rows of 8 columns from the seed.
fn batch(seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = kmrbf::rng::Rng::new(seed);
    let v: Vec<f32> = (0..64 * 8).map(|_| rng.normal() as f32).collect();
    Tensor::from_data(TensorData::new(v, [64, 8]), device)
}

fn grads(ae: &Autoencoder, step: u64, device: &Device) -> GradientsParams {
    let x = batch(step, device);
    let loss = (ae.decode(ae.encode(x.clone())) - x).powi_scalar(2).mean();
    GradientsParams::from_grads(loss.backward(), ae)
}

/// Widths with a hidden layer of 300 x 300 = 90,000 weights: several of Adam's chunks.
fn config() -> AutoencoderConfig {
    AutoencoderConfig::new(vec![8, 300, 300, 3])
}

#[test]
fn fused_adam_takes_burns_adam_steps() {
    let device = Device::flex().autodiff();
    let mut ours = config().init(&device, 3);
    let mut theirs = config().init(&device, 3);
    let start = flat(&ours);
    let mut adam = Adam::new();
    let mut burn_adam = AdamConfig::new().init();
    for step in 0..4 {
        let g = grads(&ours, step, &device);
        ours = adam.step(1e-2, ours, g);
        let g = grads(&theirs, step, &device);
        theirs = burn_adam.step(1e-2, theirs, g);
        let (a, b) = (flat(&ours), flat(&theirs));
        // Both moved (by about lr per entry), and to the same place up to f32 rounding.
        let moved = a
            .iter()
            .zip(&start)
            .filter(|(x, y)| (*x - *y).abs() > 1e-3)
            .count();
        assert!(
            moved > a.len() / 2,
            "step {step}: {moved} of {} moved",
            a.len()
        );
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 2e-6, "step {step}: largest difference {worst}");
    }
    assert_eq!(adam.time(), 4);
}

/// The network of [`config`] from `seed` after `steps` fused Adam steps at 1e-3.
fn trained(seed: u64, steps: u64) -> (Autoencoder, Adam) {
    let device = Device::flex().autodiff();
    let mut ae = config().init(&device, seed);
    let mut adam = Adam::new();
    for step in 0..steps {
        let g = grads(&ae, step, &device);
        ae = adam.step(1e-3, ae, g);
    }
    (ae, adam)
}

#[test]
fn fused_adam_gives_the_same_bits_for_any_thread_count() {
    let run = |threads: usize| {
        kmrbf::par::run(Some(threads), || {
            let (ae, adam) = trained(5, 3);
            (flat(&ae), adam)
        })
        .unwrap()
    };
    let (a, adam_a) = run(1);
    let (b, adam_b) = run(2);
    assert_eq!(a, b);
    assert_eq!(adam_a, adam_b);
}

#[test]
fn moments_file_round_trips_and_damage_is_named() {
    let device = Device::flex().autodiff();
    let (ae, adam) = trained(7, 2);
    let dir = std::env::temp_dir().join(format!("kmrbf-adam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("optimizer.adam");
    adam.save(&path).unwrap();
    assert_eq!(Adam::load(&path).unwrap(), adam);
    // The moments fit this network and no other.
    assert!(adam.fits(&ae));
    assert!(Adam::new().fits(&ae));
    let other = AutoencoderConfig::new(vec![8, 300, 299, 3]).init(&device, 7);
    assert!(!adam.fits(&other));
    let bytes = std::fs::read(&path).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not an optimizer state", b"not a record".to_vec()),
        ("truncated", bytes[..bytes.len() - 3].to_vec()),
        ("trailing bytes", [&bytes[..], &[0u8; 4]].concat()),
        ("not finite", {
            let mut b = bytes.clone();
            let at = b.len() - 4;
            b[at..].copy_from_slice(&f32::NAN.to_le_bytes());
            b
        }),
    ];
    for (why, damaged) in cases {
        std::fs::write(&path, damaged).unwrap();
        match Adam::load(&path) {
            Err(Error::Checkpoint { path: p, reason }) => {
                assert!(p.ends_with("optimizer.adam"), "{p}");
                assert!(reason.contains(why), "{why}: {reason}");
            }
            other => panic!("{why}: {other:?}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
