// The polyphase index algebra of one resampling axis, shared by the CPU upfirdn2d and filtered_lrelu kernels:
// no zeros are inserted; each output sample sums only the filter taps that land on input samples (a 1/up share
// of the taps).
//
// Per axis, output o reads the zero-inserted, padded signal at positions o*down - pad0 + t for taps t of the
// cross-correlation weights w. Position k holds input sample k/up when k % up == 0. So the first useful tap is
// t0 = (pad0 - o*down) mod up, it reads input i0 = (o*down - pad0 + t0) / up, and the next useful taps are
// t0 + j*up reading i0 + j. Outputs o = r + P*m (P = up / gcd(up, down)) share t0 and read i0(r) + m*Q + j with
// Q = down / gcd(up, down): for each residue r the inner loop over m is a plain strided multiply-add.
// The input is read from a zero-margined buffer, so no tap needs a bounds check.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace insilico_ops {

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The polyphase geometry of one axis: `in` input samples -> `out` output samples.
struct Axis {
    int64_t in, out, up, down, pad0, taps;
    int64_t period, input_step;  // P and Q above
    int64_t margin_lo, padded;   // zero margin before the input, and the margined length

    Axis(int64_t in_, int64_t out_, int up_, int down_, int pad0_, int taps_)
        : in(in_), out(out_), up(up_), down(down_), pad0(pad0_), taps(taps_) {
        const int64_t g = std::gcd(up, down);
        period = up / g;
        input_step = down / g;
        const int64_t lo = floor_div(-pad0, up);
        const int64_t hi = floor_div((out - 1) * down - pad0 + taps - 1, up);
        margin_lo = std::max<int64_t>(0, -lo);
        padded = margin_lo + std::max<int64_t>(in, hi + 1);
    }
    int64_t first_tap(int64_t o) const { return ((pad0 - o * down) % up + up) % up; }
    // index of the first input read by output o, in the margined buffer
    int64_t first_input(int64_t o) const { return (o * down - pad0 + first_tap(o)) / up + margin_lo; }
    int64_t tap_count(int64_t o) const {
        const int64_t t0 = first_tap(o);
        return t0 >= taps ? 0 : (taps - t0 + up - 1) / up;
    }
};

// out[r + P*m] = sum over (tap j, weight w_j, source row src_j) of w_j * src_j[base + j + m*Q], for each
// residue r of the horizontal axis. `rows` lists the margined source rows and their weight rows; `acc` is
// scratch for one residue class.
template <typename S>
void horizontal(const Axis& ax, const S* const* rows, const S* const* weights, int nrows, S* out, std::vector<S>& acc) {
    for (int64_t r = 0; r < std::min(ax.period, ax.out); ++r) {
        const int64_t count = (ax.out - r + ax.period - 1) / ax.period;
        const int64_t t0 = ax.first_tap(r), base = ax.first_input(r), ntaps = ax.tap_count(r);
        const int64_t q = ax.input_step;
        S* dst = ax.period == 1 ? out : (acc.resize(count), acc.data());
        std::fill(dst, dst + count, S(0));
        for (int k = 0; k < nrows; ++k) {
            for (int64_t j = 0; j < ntaps; ++j) {
                const S w = weights[k][t0 + j * ax.up];
                const S* src = rows[k] + base + j;
                if (q == 1) {
#pragma omp simd
                    for (int64_t m = 0; m < count; ++m) dst[m] += w * src[m];
                } else {
#pragma omp simd
                    for (int64_t m = 0; m < count; ++m) dst[m] += w * src[m * q];
                }
            }
        }
        if (ax.period != 1)
            for (int64_t m = 0; m < count; ++m) out[r + ax.period * m] = dst[m];
    }
}

// Cross-correlation weights of a filter given as a true-convolution kernel (flip_filter false reads it
// backwards), times `gain`: a separable [taps] filter gives one row, a 2-D [h, w] filter h rows of w.
template <typename S>
std::vector<S> correlation_weights(const S* f, int h, int w, bool separable, bool flip_filter, S gain) {
    const int rows = separable ? 1 : h;
    std::vector<S> out(int64_t(rows) * w);
    for (int ty = 0; ty < rows; ++ty)
        for (int tx = 0; tx < w; ++tx) {
            const int64_t src = flip_filter ? int64_t(ty) * w + tx : int64_t(rows - 1 - ty) * w + (w - 1 - tx);
            out[int64_t(ty) * w + tx] = gain * f[src];
        }
    return out;
}

}  // namespace insilico_ops
