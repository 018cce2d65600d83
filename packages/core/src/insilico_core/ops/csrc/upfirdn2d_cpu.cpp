// upfirdn2d on the CPU, polyphase: no zeros are inserted; each output sample sums only the filter taps that land
// on input samples (a 1/up share of the taps per axis). Planes run in parallel (ATen's OpenMP thread pool).
//
// Per axis, output o reads the zero-inserted, padded signal at positions o*down - pad0 + t for taps t of the
// cross-correlation weights w. Position k holds input sample k/up when k % up == 0. So the first useful tap is
// t0 = (pad0 - o*down) mod up, it reads input i0 = (o*down - pad0 + t0) / up, and the next useful taps are
// t0 + j*up reading i0 + j. Outputs o = r + P*m (P = up / gcd(up, down)) share t0 and read i0(r) + m*Q + j with
// Q = down / gcd(up, down): for each residue r the inner loop over m is a plain strided multiply-add.
// The input is copied into a zero-margined buffer first, so no tap needs a bounds check.
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <algorithm>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cpu_kernels.h"
#include "cpu_storage.h"

namespace insilico_ops {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The polyphase geometry of one axis.
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

template <typename S>
struct Plane {
    std::vector<S> input;   // margined input (2-D filter) or one margined row (separable filter)
    std::vector<S> middle;  // separable: rows of the horizontal pass [padded_y, out_w]
    std::vector<S> acc;     // one residue class of an output row
};

// out[r + P*m] (+)= sum over (tap j, weight w_j, source row src_j) of w_j * src_j[base + j + m*Q], for each
// residue r of the horizontal axis. `rows` lists the source rows (already offset) and their weight rows.
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

template <typename T>
struct Upfirdn2dRun {
    using S = Acc<T>;
    const Upfirdn2dArgs& p;
    Axis ax, ay;
    std::vector<S> wx, wy;  // separable: cross-correlation weights per axis (gain folded into wy)
    std::vector<S> w2;      // 2-D: cross-correlation weights [filter_h][filter_w] (gain folded in)

    explicit Upfirdn2dRun(const Upfirdn2dArgs& a)
        : p(a),
          ax(a.in_w, a.out_w, a.up_x, a.down_x, a.pad_x0, a.filter_w),
          ay(a.in_h, a.out_h, a.up_y, a.down_y, a.pad_y0, a.separable ? a.filter_w : a.filter_h) {
        const S* f = static_cast<const S*>(a.f);
        // the kernels cross-correlate; a true convolution (flip_filter false) reads the filter backwards
        if (a.separable) {
            const int n = a.filter_w;
            wx.resize(n);
            wy.resize(n);
            for (int t = 0; t < n; ++t) {
                const S v = a.flip_filter ? f[t] : f[n - 1 - t];
                wx[t] = v;
                wy[t] = v * S(a.gain);
            }
        } else {
            const int h = a.filter_h, w = a.filter_w;
            w2.resize(int64_t(h) * w);
            for (int ty = 0; ty < h; ++ty)
                for (int tx = 0; tx < w; ++tx)
                    w2[ty * w + tx] = S(a.gain) * (a.flip_filter ? f[ty * w + tx] : f[(h - 1 - ty) * w + (w - 1 - tx)]);
        }
    }

    // the margined copy of input row iy (as S) into dst[0, ax.padded)
    void load_row(const T* plane, int64_t iy, S* dst) const {
        std::fill(dst, dst + ax.margin_lo, S(0));
        const T* src = plane + iy * p.stride_h;
        if (p.stride_w == 1) {
#pragma omp simd
            for (int64_t ix = 0; ix < ax.in; ++ix) dst[ax.margin_lo + ix] = load(src[ix]);
        } else {
            for (int64_t ix = 0; ix < ax.in; ++ix) dst[ax.margin_lo + ix] = load(src[ix * p.stride_w]);
        }
        std::fill(dst + ax.margin_lo + ax.in, dst + ax.padded, S(0));
    }

    void store_row(const S* src, T* dst) const {
#pragma omp simd
        for (int64_t ox = 0; ox < ax.out; ++ox) dst[ox] = store<T>(src[ox]);
    }

    void plane(int64_t index, Plane<S>& buf, std::vector<S>& row_out) const {
        const T* x = static_cast<const T*>(p.x) + (index / p.channels) * p.stride_n + (index % p.channels) * p.stride_c;
        T* y = static_cast<T*>(p.y) + index * ay.out * ax.out;
        row_out.resize(ax.out);
        if (p.separable) {
            // horizontal pass over the input rows (margin rows stay zero), then vertical multiply-adds of rows
            buf.input.resize(ax.padded);
            buf.middle.assign(ay.padded * ax.out, S(0));
            const S* wrow = wx.data();
            for (int64_t iy = 0; iy < ay.in; ++iy) {
                load_row(x, iy, buf.input.data());
                const S* src = buf.input.data();
                horizontal<S>(ax, &src, &wrow, 1, buf.middle.data() + (ay.margin_lo + iy) * ax.out, buf.acc);
            }
            for (int64_t oy = 0; oy < ay.out; ++oy) {
                const int64_t t0 = ay.first_tap(oy), base = ay.first_input(oy), ntaps = ay.tap_count(oy);
                std::fill(row_out.begin(), row_out.end(), S(0));
                S* dst = row_out.data();
                for (int64_t j = 0; j < ntaps; ++j) {
                    const S w = wy[t0 + j * ay.up];
                    const S* src = buf.middle.data() + (base + j) * ax.out;
#pragma omp simd
                    for (int64_t ox = 0; ox < ax.out; ++ox) dst[ox] += w * src[ox];
                }
                store_row(dst, y + oy * ax.out);
            }
            return;
        }
        // 2-D filter: margined copy of the whole plane, then per output row the useful filter rows
        buf.input.assign(ay.padded * ax.padded, S(0));
        for (int64_t iy = 0; iy < ay.in; ++iy) load_row(x, iy, buf.input.data() + (ay.margin_lo + iy) * ax.padded);
        std::vector<const S*> rows(ay.taps), weights(ay.taps);
        for (int64_t oy = 0; oy < ay.out; ++oy) {
            const int64_t t0 = ay.first_tap(oy), base = ay.first_input(oy), ntaps = ay.tap_count(oy);
            for (int64_t j = 0; j < ntaps; ++j) {
                rows[j] = buf.input.data() + (base + j) * ax.padded;
                weights[j] = w2.data() + (t0 + j * ay.up) * p.filter_w;
            }
            horizontal<S>(ax, rows.data(), weights.data(), int(ntaps), row_out.data(), buf.acc);
            store_row(row_out.data(), y + oy * ax.out);
        }
    }

    void operator()() const {
        at::parallel_for(0, p.planes, 1, [&](int64_t begin, int64_t end) {
            Plane<S> buf;
            std::vector<S> row_out;
            for (int64_t i = begin; i < end; ++i) plane(i, buf, row_out);
        });
    }
};

}  // namespace

template <typename T>
void upfirdn2d_cpu(const Upfirdn2dArgs& args) {
    if (args.planes == 0 || args.out_h == 0 || args.out_w == 0) return;
    Upfirdn2dRun<T>{args}();
}

template void upfirdn2d_cpu<float>(const Upfirdn2dArgs&);
template void upfirdn2d_cpu<double>(const Upfirdn2dArgs&);
template void upfirdn2d_cpu<c10::BFloat16>(const Upfirdn2dArgs&);

}  // namespace insilico_ops
