"""Cross-check of the cryo-EM forward model against cryojax 0.6.0.

    python benchmarks/bench_forward_model.py [--n-rot 100] [--batch 300]

``sksbi_manifold.datasets.simulate_particles`` and an independent simulator,
cryojax (``pip install cryojax==0.6.0``, CPU jax), render the same AdK
conformations (the first and the last of ``load_adk()``) at 64 px, 1.5 A per
pixel, defocus 0.8 / 1.5 / 2.5 um, amplitude contrast 0.1, atom width
sigma = 2 A, no B-factor, under the same rotations (the quaternions our
simulator drew). Printed, as plain text lines:

* the Pearson correlation of the log radially averaged power spectra of the
  noise-free images (orientation-averaged, frequencies 1/96 .. 1/3 1/A: s = 0
  excluded, Nyquist included), per conformation and defocus; the same of the
  spectra divided by the CTF-free projections' (the Thon rings alone, more
  sensitive: the Gaussian atoms' fall-off dominates the plain spectra); the
  ratio of the first CTF zeros (of the transfer functions and of the Thon
  rings);
* the same against deliberately wrong settings (defocus x 1.2 / x 0.8, the
  non-relativistic wavelength, the wrong B-factor convention), which show how
  sensitive the correlation is;
* the SNR actually realised by both simulators at a nominal SNR of 0.05,
  with cryojax's ``GaussianWhiteNoiseModel`` and with numpy noise added to
  cryojax's clean images by hand (the noise model of cryojax 0.6.0 draws
  real-valued Fourier coefficients, so its noise is point-symmetric about
  the box centre: "rot180 corr" = 1);
* images per second of both at 64 x 64, after a warm-up.

Convention conversions, cryojax -> ours (all verified here by a real-space
match of the images, relative max difference ~1e-6):

* atoms: ``GaussianMixtureVolume(positions, amplitudes=1, variances=sigma**2)``
  with ``GaussianMixtureProjection(sampling_mode="point")``: a unit-mass 3-D
  Gaussian per atom whose projection, ``exp(-r^2 / 2 sigma^2) / (2 pi
  sigma^2)``, is evaluated at the pixel centres -- our density exactly, with
  the same normalisation (each atom integrates to 1, pixel values in 1/A^2).
* pose: ``QuaternionPose(wxyz=q)`` applies the same matrix R(q) to the atoms
  as ours (``GaussianMixtureVolume.is_frame_rotation`` is False); cryojax puts
  the box centre on pixel L/2, ours between pixels L/2 - 1 and L/2, so the
  cryojax atoms are shifted by -pixel_size/2 in x and y (``translate_mode=
  "atom"``).
* CTF: cryojax's is ``sin(-pi dz lambda s^2 + (pi/2) Cs lambda^3 s^4 - phase
  - atan(A / sqrt(1 - A^2)))``; with Cs = 0 and no phase shift that is
  ``-sqrt(1-A^2) sin(chi) - A cos(chi)`` (chi = pi dz lambda s^2), ours too
  (cryoSBI's code): amplitude and phase contrast add. The paper's printed
  formula ``A cos(chi) - sqrt(1-A^2) sin(chi)`` is cryojax with
  ``phase_shift = -2 atan(A / sqrt(1 - A^2))`` ("paper sign" below).
* wavelength: both relativistic at 300 kV (0.019687 A); cryoSBI's constant
  0.019866 A is cryojax's at 295.6 kV ("cryoSBI lambda" below).
* B-factor: cryojax's envelope ``FourierGaussian(b_factor=B)`` is ``exp(-B
  s^2 / 4)``, ours ``exp(-b s^2 / 2)``: B = 2 b.
* padding: both apply the CTF on a grid padded to 128 px.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sksbi_manifold.datasets import _particles as P
from sksbi_manifold.datasets._adk import load_adk

SIZE, PIXEL, SIGMA, AMP = 64, 1.5, 2.5, 0.1  # sigma >= 1.5 px: point samples in both
DEFOCI = (0.8, 1.5, 2.5)
SNR = 0.05
PHI_DEG = float(np.degrees(np.arctan(AMP / np.sqrt(1 - AMP**2))))
MASK = P.circular_mask(SIZE, P.MASK_RADIUS * SIZE)


# --------------------------------------------------------------------------- #
# cryojax side
# --------------------------------------------------------------------------- #
def _import_cryojax():
    # One XLA thread: the numpy side runs single-threaded too.
    os.environ.setdefault(
        "XLA_FLAGS",
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    )
    import cryojax.simulator as cxs
    import jax
    import jax.numpy as jnp
    from cryojax.constants import wavelength_from_kilovolts
    from cryojax.ndimage import FourierGaussian

    return cxs, jax, jnp, wavelength_from_kilovolts, FourierGaussian


def kilovolts_for_wavelength(wavelength: float) -> float:
    """The voltage at which cryojax's relativistic wavelength is ``wavelength``."""
    from scipy.optimize import brentq

    *_, wavelength_from_kilovolts, _ = _import_cryojax()
    return brentq(
        lambda kv: float(wavelength_from_kilovolts(kv)) - wavelength, 10.0, 3000.0
    )


def make_cryojax(*, envelope: bool = False):
    """Jitted ``f(coords, wxyz, defocus_um, kv, amp, phase_deg, cs_mm, B)``.

    Returns noise-free images (n, 64, 64) of the atoms ``coords`` (n_atoms, 3)
    under the quaternions ``wxyz`` (n, 4) and defoci (n,); the scalars are
    traced, so one compilation serves every setting.
    """
    cxs, jax, jnp, _, FourierGaussian = _import_cryojax()
    config_shape = dict(shape=(SIZE, SIZE), padded_shape=(2 * SIZE, 2 * SIZE))
    half = -0.5 * PIXEL  # cryojax's box centre is half a pixel off ours

    def model(coords, wxyz, dz, kv, amp, phase, cs, b):
        volume = cxs.GaussianMixtureVolume(coords, 1.0, SIGMA**2)
        config = cxs.BasicImageConfig(
            pixel_size=PIXEL, voltage_in_kilovolts=kv, **config_shape
        )
        ctf = cxs.AstigmaticCTF(
            defocus_in_angstroms=dz * 1e4,
            astigmatism_in_angstroms=0.0,
            spherical_aberration_in_mm=cs,
        )
        theory = cxs.ContrastTransferTheory(
            ctf,
            FourierGaussian(b_factor=b) if envelope else None,
            amplitude_contrast_ratio=amp,
            phase_shift=phase,
        )
        pose = cxs.QuaternionPose(half, half, wxyz=wxyz)
        return cxs.make_image_model(
            volume,
            config,
            pose,
            theory,
            cxs.GaussianMixtureProjection(sampling_mode="point"),
            translate_mode="atom",
        )

    def one(coords, wxyz, dz, kv, amp, phase, cs, b):
        return model(coords, wxyz, dz, kv, amp, phase, cs, b).simulate()

    batched = jax.jit(jax.vmap(one, in_axes=(None, 0, 0) + (None,) * 5))

    def one_flat(coords, wxyz):  # no CTF: the projected density itself
        return cxs.make_image_model(
            cxs.GaussianMixtureVolume(coords, 1.0, SIGMA**2),
            cxs.BasicImageConfig(pixel_size=PIXEL, **config_shape),
            cxs.QuaternionPose(half, half, wxyz=wxyz),
            volume_integrator=cxs.GaussianMixtureProjection(sampling_mode="point"),
            translate_mode="atom",
        ).simulate()

    flat = jax.jit(jax.vmap(one_flat, in_axes=(None, 0)))

    def project(coords, wxyz):
        out = flat(jnp.asarray(coords, jnp.float32), jnp.asarray(wxyz, jnp.float32))
        return np.asarray(out.block_until_ready())

    def simulate(coords, wxyz, dz, kv, amp=AMP, phase=0.0, cs=0.0, b=1.0):
        out = batched(
            jnp.asarray(coords, dtype=jnp.float32),
            jnp.asarray(wxyz, dtype=jnp.float32),
            jnp.asarray(dz, dtype=jnp.float32),
            *(jnp.float32(v) for v in (kv, amp, phase, cs, b)),
        )
        return np.asarray(out.block_until_ready())

    def noisy(coords, wxyz, dz, snr, seed, kv, phase=0.0, amp=AMP):
        """Clean and noisy images through ``GaussianWhiteNoiseModel``."""
        mask = jnp.asarray(MASK)

        def one_noisy(wxyz, dz, key):
            m = model(coords, wxyz, dz, kv, amp, phase, 0.0, 1.0)
            clean = m.simulate()
            signal = jnp.sum(jnp.where(mask, clean**2, 0.0)) / mask.sum()
            noise_model = cxs.GaussianWhiteNoiseModel(m, variance=signal / snr)
            return clean, noise_model.sample(key)

        keys = jax.random.split(jax.random.key(seed), len(dz))
        run = jax.jit(jax.vmap(one_noisy))
        clean, img = run(
            jnp.asarray(wxyz, jnp.float32), jnp.asarray(dz, jnp.float32), keys
        )
        return np.asarray(clean), np.asarray(img.block_until_ready()), run, keys

    return simulate, project, noisy


def cryojax_ctf_1d(s, dz_um, kv, amp, phase_deg, cs_mm=0.0):
    """cryojax's CTF on a 1-D frequency grid ``s`` (1/A), as a numpy array."""
    cxs, _, jnp, wavelength_from_kilovolts, _ = _import_cryojax()
    grid = jnp.stack([jnp.asarray(s), jnp.zeros_like(jnp.asarray(s))], -1)[:, None]
    ctf = cxs.AstigmaticCTF(
        defocus_in_angstroms=dz_um * 1e4, spherical_aberration_in_mm=cs_mm
    )
    out = ctf(
        grid,
        wavelength_in_angstroms=wavelength_from_kilovolts(kv),
        amplitude_contrast_ratio=amp,
        phase_shift=phase_deg,
    )
    return np.asarray(out)[:, 0]


# --------------------------------------------------------------------------- #
# Spectra
# --------------------------------------------------------------------------- #
def radial_power(images: np.ndarray, pad: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Mean radially averaged power spectrum, bins 1 .. Nyquist (s = 0 dropped).

    ``pad`` > 1 zero-pads the FFT for a finer frequency sampling (used only to
    locate the Thon-ring minima). Returns (s in 1/A, power).
    """
    n = SIZE * pad
    power = np.abs(np.fft.fft2(images, s=(n, n))) ** 2
    k = np.fft.fftfreq(n) * n
    r = np.rint(np.hypot(k[:, None], k[None, :])).astype(int).ravel()
    nbins = n // 2 + 1  # 0 .. Nyquist
    counts = np.bincount(r, minlength=nbins)[:nbins]
    flat = power.reshape(len(images), -1)
    sums = np.stack([np.bincount(r, weights=p, minlength=nbins)[:nbins] for p in flat])
    spectrum = sums.mean(0) / counts
    s = np.arange(nbins) / (n * PIXEL)
    return s[1:], spectrum[1:]


def log_corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.log(a), np.log(b))[0, 1])


def zeros_of(s: np.ndarray, f: np.ndarray) -> np.ndarray:
    """All sign changes of ``f`` on the grid ``s`` (linear interpolation)."""
    idx = np.flatnonzero(np.sign(f[:-1]) != np.sign(f[1:]))
    return s[idx] - f[idx] * (s[idx + 1] - s[idx]) / (f[idx + 1] - f[idx])


def first_minimum(s: np.ndarray, p: np.ndarray, above: float = 0.0) -> float:
    """First local minimum of log ``p`` at ``s > above`` (parabolic refinement)."""
    lp = np.log(p)
    inner = (lp[1:-1] < lp[:-2]) & (lp[1:-1] < lp[2:]) & (s[1:-1] > above)
    i = 1 + np.flatnonzero(inner)[0]
    a, b, c = lp[i - 1 : i + 2]
    return float(s[i] + 0.5 * (a - c) / (a - 2 * b + c) * (s[1] - s[0]))


def quarter_wave(dz_um: float, wavelength: float) -> float:
    """Frequency where pi dz lambda s^2 = pi/2: the first phase-contrast zero
    (chi ~ pi) lies above it, an amplitude-contrast zero (chi ~ 0.1) below."""
    return float(np.sqrt(0.5 / (dz_um * 1e4 * wavelength)))


# --------------------------------------------------------------------------- #
def ours(coords, n, defocus, seed, *, noise=False, b_factor=0.0, n_jobs=1):
    return P.simulate_particles(
        coords,
        n,
        noise=noise,
        defocus=defocus,
        b_factor=b_factor,
        amplitude=AMP,
        sigma=SIGMA,
        shift=0.0,
        log_snr=float(np.log(SNR)),
        random_state=seed,
        n_jobs=n_jobs,
    )


def best_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-rot", type=int, default=100, help="rotations per cell")
    ap.add_argument("--batch", type=int, default=300, help="images for timing")
    args = ap.parse_args(argv)
    threadpool_limits(1)
    t_start = time.perf_counter()

    _, jax, _, wavelength_from_kilovolts, _ = _import_cryojax()
    import cryojax

    adk = load_adk()
    last = len(adk.coords) - 1
    confs = {0: adk.coords[0], last: adk.coords[last]}
    confs = {k: v - v.mean(0) for k, v in confs.items()}
    kv_ours = kilovolts_for_wavelength(P.WAVELENGTH)  # 300 kV
    kv_cryosbi = kilovolts_for_wavelength(0.019866)
    # A wrong wavelength: the non-relativistic one at 300 kV, 12.2643/sqrt(V).
    kv_nonrel = kilovolts_for_wavelength(12.2643 / np.sqrt(300e3))
    wl = {
        kv: float(wavelength_from_kilovolts(kv))
        for kv in (kv_ours, 300.0, kv_nonrel, kv_cryosbi)
    }
    print(f"cryojax {cryojax.__version__}, jax {jax.__version__} (CPU, float32)")
    print(
        f"box {SIZE} px x {PIXEL} A, sigma {SIGMA} A, amplitude contrast {AMP}, "
        f"no B-factor, {args.n_rot} random rotations per (conformation, defocus)"
    )
    print(
        f"wavelength: ours {P.WAVELENGTH} A = cryojax at {kv_ours:.2f} kV; cryojax "
        f"300 kV {wl[300.0]:.6f} A; non-relativistic 300 kV {wl[kv_nonrel]:.6f} A"
    )
    simulate, project, noisy = make_cryojax()
    simulate_env, *_ = make_cryojax(envelope=True)
    matched = dict(kv=kv_ours, phase=0.0)
    variants = [  # (label, cryojax settings, cryojax defocus / ours)
        ("matched (300 kV, no shift)", matched, 1.0),
        ("paper sign", dict(kv=kv_ours, phase=-2 * PHI_DEG), 1.0),
        ("cryoSBI lambda (295.6 kV)", dict(kv=kv_cryosbi, phase=0.0), 1.0),
        ("matched, Cs 2.7 mm", dict(kv=300.0, phase=0.0, cs=2.7), 1.0),
        ("ours dz x1.2 vs matched", matched, 1 / 1.2),
        ("ours dz x0.8 vs matched", matched, 1 / 0.8),
        ("non-relativistic lambda", dict(matched, kv=kv_nonrel), 1.0),
    ]

    print("\n# noise-free images, ours vs cryojax")
    print("# r: Pearson r of log radial power (32 bins, 1/96 .. 1/3 1/A, s = 0 out);")
    print("# r_ctf: the same of log(power / CTF-free power), the Thon rings alone;")
    print("# real: pixel correlation; zero1: ratio ours/cryojax of the first CTF")
    print("# zeros; zeroPC: of the first phase-contrast zeros (chi ~ pi); thonPC:")
    print("# of the first Thon-ring minima of the images above chi = pi/2.")
    print(
        f"{'conf':>4} {'dz':>4} {'cryojax variant':<28} {'r':>8} {'1-r':>8}"
        f" {'r_ctf':>7} {'real':>7} {'zero1':>6} {'zeroPC':>6} {'thonPC':>6}"
    )
    s_fine = np.linspace(1e-4, 1 / (2 * PIXEL), 20001)
    summary: dict[str, list[float]] = {}
    real_diff = 0.0
    for conf, coords in confs.items():
        for dz in DEFOCI:
            ref = ours(coords, args.n_rot, dz, seed=conf * 10 + int(dz * 10))
            q = ref.params[:, 2:6]
            _, p_ours = radial_power(ref.images)
            sf, pf_ours = radial_power(ref.images, pad=4)
            flat = project(coords, q)  # CTF-free, same rotations
            _, p_flat = radial_power(flat)
            _, pf_flat = radial_power(flat, pad=4)
            above = quarter_wave(dz, P.WAVELENGTH)
            thon_ours = first_minimum(sf, pf_ours / pf_flat, above)
            z_ours = zeros_of(s_fine, P.ctf(s_fine**2, dz, 0.0, AMP))
            zpc_ours = z_ours[z_ours > above][0]
            for name, v, scale in variants:
                dz_cj = dz * scale
                img = simulate(coords, q, np.full(args.n_rot, dz_cj), **v)
                if name == variants[0][0]:  # same optics as ours
                    diff = np.abs(img - ref.images).max() / np.abs(ref.images).max()
                    real_diff = max(real_diff, float(diff))
                _, p_cj = radial_power(img)
                r = log_corr(p_ours, p_cj)
                r_ctf = log_corr(p_ours / p_flat, p_cj / p_flat)
                r_real = float(np.corrcoef(img.ravel(), ref.images.ravel())[0, 1])
                above_cj = quarter_wave(dz_cj, wl[v["kv"]])
                _, pf_cj = radial_power(img, pad=4)
                thon_cj = first_minimum(sf, pf_cj / pf_flat, above_cj)
                ctf_cj = cryojax_ctf_1d(
                    s_fine, dz_cj, v["kv"], AMP, v["phase"], v.get("cs", 0.0)
                )
                z_cj = zeros_of(s_fine, ctf_cj)
                zpc_cj = z_cj[z_cj > above_cj][0]
                summary.setdefault(name, []).append(r)
                print(
                    f"{conf:>4} {dz:>4} {name:<28} {r:>8.6f} {1 - r:>8.1e}"
                    f" {r_ctf:>7.4f} {r_real:>7.4f} {z_ours[0] / z_cj[0]:>6.3f}"
                    f" {zpc_ours / zpc_cj:>6.4f} {thon_ours / thon_cj:>6.4f}"
                )
            z_std = zeros_of(s_fine, cryojax_ctf_1d(s_fine, dz, 300.0, AMP, 0.0))
            print(
                f"     first CTF zeros (1/A): ours {np.round(z_ours[:3], 4).tolist()},"
                f" cryojax standard 300 kV {np.round(z_std[:3], 4).tolist()}"
            )
    print(
        "matched images, real space: max |cryojax - ours| / max |ours| = "
        f"{real_diff:.1e}"
    )
    print("\n# summary over the 6 (conformation, defocus) cells: r of log power")
    for name, rs in summary.items():
        print(f"{name:<28} min {min(rs):.6f}  mean {np.mean(rs):.6f}")

    # B-factor convention: ours exp(-b s^2 / 2) = cryojax exp(-B s^2 / 4), B = 2b.
    b, coords = 30.0, confs[0]
    ref = ours(coords, args.n_rot, 1.5, seed=7, b_factor=b)
    q, dzs = ref.params[:, 2:6], np.full(args.n_rot, 1.5)
    _, p_ours = radial_power(ref.images)
    print(f"\n# B-factor: ours b = {b:g} A^2, dz 1.5 um, conformation 0, matched")
    for bb in (2 * b, b):
        img = simulate_env(coords, q, dzs, b=bb, **matched)
        r = log_corr(p_ours, radial_power(img)[1])
        label = f"cryojax FourierGaussian B = {bb:g}" + (
            " (= 2b)" if bb == 2 * b else ""
        )
        print(f"{label:<40} r = {r:.6f}  1-r = {1 - r:.1e}")

    # SNR: noise variance = mean squared noise-free intensity in the mask / SNR.
    n = args.n_rot
    clean = ours(coords, n, 1.5, seed=11).images.astype(float)
    sim = ours(coords, n, 1.5, seed=11, noise=True)  # same draw, plus noise
    noise_ours = sim.images - clean
    q, dzs = sim.params[:, 2:6], np.full(n, 1.5)
    c_cj, n_cj, *_ = noisy(coords, q, dzs, SNR, seed=0, **matched)
    sig_cj = np.mean(c_cj[:, MASK] ** 2, axis=1)
    noise_hand = (
        np.random.default_rng(0).standard_normal(c_cj.shape)
        * np.sqrt(sig_cj / SNR)[:, None, None]
    )

    def measured(clean, noise):
        signal = np.mean(clean[:, MASK] ** 2, axis=1)
        return np.mean(signal / noise.reshape(len(noise), -1).var(axis=1))

    def sym(noise):  # correlation with the noise rotated by 180 deg about (32, 32)
        a = noise[:, 1:, 1:]
        return float(np.corrcoef(a.ravel(), a[:, ::-1, ::-1].ravel())[0, 1])

    print(
        f"\n# SNR, nominal {SNR}: signal = mean clean^2 in the {MASK.sum()}-px disc "
        f"of radius {P.MASK_RADIUS * SIZE:g} px; measured = signal / var(noise)"
    )
    print(f"{'noise':<38} {'measured SNR':>12} {'rot180 corr':>11}")
    for label, c, nz in (
        ("ours simulate_particles", clean, noise_ours),
        ("cryojax GaussianWhiteNoiseModel", c_cj, n_cj - c_cj),
        ("cryojax clean + numpy white noise", c_cj, noise_hand),
    ):
        print(f"{label:<38} {measured(c, nz):>12.5f} {sym(nz):>11.3f}")
    print(
        "noise-free signal power in the mask, ours / cryojax: "
        f"{np.mean(np.mean(clean[:, MASK] ** 2, 1) / sig_cj):.6f}"
    )

    # Speed: a batch of 64 x 64 images after a warm-up, one thread each.
    nb = args.batch
    sim = P.simulate_particles(adk.coords, nb, random_state=2, n_jobs=1)
    q, dzs = sim.params[:, 2:6], sim.params[:, 8]
    coords = adk.coords[0] - adk.coords[0].mean(0)
    _, _, run, keys = noisy(coords, q, dzs, SNR, seed=1, **matched)  # compiles
    simulate(coords, q, dzs, **matched)  # compiles
    q32, dz32 = q.astype(np.float32), dzs.astype(np.float32)
    rows = [
        (
            "ours, priors (random dz, b, sigma, shift)",
            lambda: P.simulate_particles(adk.coords, nb, random_state=2, n_jobs=1),
        ),
        (
            "ours, fixed parameters as above",
            lambda: ours(coords, nb, 1.5, seed=3, noise=True),
        ),
        (
            "ours, noise=False",
            lambda: ours(coords, nb, 1.5, seed=3),
        ),
        ("cryojax jit(vmap), noise-free", lambda: simulate(coords, q, dzs, **matched)),
        (
            "cryojax jit(vmap) + GaussianWhiteNoiseModel",
            lambda: run(q32, dz32, keys)[1].block_until_ready(),
        ),
    ]
    print(f"\n# speed: batch of {nb} images of 64 x 64, 1 thread, best of 3")
    print(f"{'simulator':<46} {'images/s':>9}")
    for label, fn in rows:
        fn()  # warm-up
        print(f"{label:<46} {nb / best_time(fn):>9.0f}")
    print(f"\ntotal {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
