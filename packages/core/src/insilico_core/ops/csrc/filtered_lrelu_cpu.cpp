// filtered_lrelu on the CPU, fused: per plane, the intermediate (upsampled) image is produced one row at a time,
// activated, and folded straight into the output rows it contributes to, so it never exists in full (only its
// sign bytes, when the backward pass needs them). The up stage is polyphase (cpu_polyphase.h); the down stage
// reads each intermediate row split into its `down` phases, so all its taps are contiguous multiply-adds.
// Planes run in parallel (ATen's OpenMP thread pool).
//
// Per plane: (1) the up stage's horizontal pass over every input row into [in_h, mid_w] (1/up of the
// intermediate; a 2-D fu keeps a margined copy of the plane instead); (2) per intermediate row my, the vertical
// pass of the up stage, the activation (or the sign mask of the derivative), the horizontal pass of the down
// stage, and multiply-adds of that row into every output row whose down filter covers my. A row that no output
// reads is skipped, and its sign bytes mark it clamped (no gradient).
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu_kernels.h"
#include "cpu_polyphase.h"
#include "cpu_storage.h"

namespace insilico_ops {
namespace {

// per-thread buffers, reused across the planes of one chunk
template <typename S>
struct Scratch {
    std::vector<S> row;     // one margined input row (separable fu)
    std::vector<S> input;   // separable fu: horizontally upsampled rows [uy.padded, mid_w]; 2-D fu: margined plane
    std::vector<S> mid;     // one margined intermediate row [dx.padded]
    std::vector<S> phases;  // that row split into its `down` phases
    std::vector<S> down;    // one intermediate row after the down stage's horizontal pass [out_w]
    std::vector<S> out;     // output accumulators [out_h, out_w]
    std::vector<S> residue; // scratch of horizontal()
    std::vector<const S*> rows, weights;
};

template <typename T>
struct FilteredLReluRun {
    using S = Acc<T>;
    const FilteredLReluArgs& p;
    Axis ux, uy, dx;       // up stage per axis, down stage horizontally (its margins)
    int fd_taps_y;         // the down stage vertically: output oy reads rows oy * down - down_pad_y0 + [0, taps)
    std::vector<S> wu, wd; // cross-correlation weights: one row (separable) or [h, w]
    S scale, slope, clamp_hi;

    explicit FilteredLReluRun(const FilteredLReluArgs& a)
        : p(a),
          ux(a.in_w, a.mid_w, a.up, 1, a.up_pad_x0, a.fu_w),
          uy(a.in_h, a.mid_h, a.up, 1, a.up_pad_y0, a.fu_separable ? a.fu_w : a.fu_h),
          dx(a.mid_w, a.out_w, 1, a.down, a.down_pad_x0, a.fd_w),
          fd_taps_y(a.fd_separable ? a.fd_w : a.fd_h),
          wu(correlation_weights<S>(static_cast<const S*>(a.fu), a.fu_h, a.fu_w, a.fu_separable, a.flip_filter, S(1))),
          wd(correlation_weights<S>(static_cast<const S*>(a.fd), a.fd_h, a.fd_w, a.fd_separable, a.flip_filter, S(1))),
          scale(S(a.filter_gain * a.gain)),
          slope(S(a.slope)),
          clamp_hi(a.clamp >= 0 ? S(a.clamp) : std::numeric_limits<S>::infinity()) {}

    // the margined copy of input row iy plus the bias into dst[0, ux.padded)
    void load_row(const T* plane, int64_t iy, S bias, S* dst) const {
        std::fill(dst, dst + ux.margin_lo, S(0));
        const T* src = plane + iy * p.stride_h;
        S* body = dst + ux.margin_lo;
        if (p.stride_w == 1) {
#pragma omp simd
            for (int64_t ix = 0; ix < ux.in; ++ix) body[ix] = load(src[ix]) + bias;
        } else {
            for (int64_t ix = 0; ix < ux.in; ++ix) body[ix] = load(src[ix * p.stride_w]) + bias;
        }
        std::fill(body + ux.in, dst + ux.padded, S(0));
    }

    // forward activation of one intermediate row, writing its sign bytes when `signs` is not null
    void activate(S* v, uint8_t* signs) const {
        const S k = scale, a = slope, c = clamp_hi;
        const int64_t n = p.mid_w;
        if (signs) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                S u = k * v[i];
                const bool negative = !(u > S(0));
                u = negative ? u * a : u;
                const bool clamped = u > c || u < -c;
                v[i] = std::min(std::max(u, -c), c);
                signs[i] = uint8_t(negative) | uint8_t(uint8_t(clamped) << 1);
            }
        } else {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                S u = k * v[i];
                u = u > S(0) ? u : u * a;
                v[i] = std::min(std::max(u, -c), c);
            }
        }
    }

    // the derivative's linear map on one intermediate row, from its sign bytes
    void mask(S* v, const uint8_t* signs) const {
        const S k = scale, ka = scale * slope;
        const int64_t n = p.mid_w;
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) {
            const uint8_t s = signs[i];
            const S u = v[i] * ((s & 1) ? ka : k);
            v[i] = (s & 2) ? S(0) : u;
        }
    }

    // dst[m] += sum over taps t of w[t] * mid[m * down - down_pad_x0 + t]: the down stage's horizontal pass of
    // one margined intermediate row given as its `down` phases (phase k: samples k, k + down, ...; one after the
    // other, phase_len each), so that every tap reads contiguous memory
    void decimate_add(const S* phases, int64_t phase_len, const S* w, S* dst) const {
        const int64_t first = dx.margin_lo - dx.pad0, n = p.out_w;
        for (int64_t t = 0; t < dx.taps; ++t) {
            const int64_t s = first + t;
            const S* src = phases + (s % p.down) * phase_len + s / p.down;
            const S wt = w[t];
#pragma omp simd
            for (int64_t m = 0; m < n; ++m) dst[m] += wt * src[m];
        }
    }

    void plane(int64_t index, Scratch<S>& buf) const {
        const T* x = static_cast<const T*>(p.x) + (index / p.channels) * p.stride_n + (index % p.channels) * p.stride_c;
        const S bias = p.b ? load(static_cast<const T*>(p.b)[index % p.channels]) : S(0);
        const int64_t mid_w = p.mid_w, out_w = p.out_w;

        // up stage, input side
        if (p.fu_separable) {
            buf.row.resize(ux.padded);
            buf.input.assign(uy.padded * mid_w, S(0));
            const S* row = buf.row.data();
            const S* weights = wu.data();
            for (int64_t iy = 0; iy < uy.in; ++iy) {
                load_row(x, iy, bias, buf.row.data());
                horizontal<S>(ux, &row, &weights, 1, buf.input.data() + (uy.margin_lo + iy) * mid_w, buf.residue);
            }
        } else {
            buf.input.assign(uy.padded * ux.padded, S(0));
            for (int64_t iy = 0; iy < uy.in; ++iy)
                load_row(x, iy, bias, buf.input.data() + (uy.margin_lo + iy) * ux.padded);
            buf.rows.resize(uy.taps);
            buf.weights.resize(uy.taps);
        }

        buf.mid.assign(dx.padded, S(0));
        buf.down.resize(out_w);
        buf.out.assign(p.out_h * out_w, S(0));
        S* mid = buf.mid.data() + dx.margin_lo;
        const S* mid_row = buf.mid.data();
        const int64_t phase_len = p.down > 1 ? (dx.padded + p.down - 1) / p.down : dx.padded;
        for (int64_t my = 0; my < p.mid_h; ++my) {
            // the output rows whose down filter covers my, and the tap of my in each
            const int64_t reach = my + p.down_pad_y0;
            const int64_t oy_first = std::max<int64_t>(0, floor_div(reach - fd_taps_y, p.down) + 1);
            const int64_t oy_last = std::min<int64_t>(p.out_h - 1, floor_div(reach, p.down));
            uint8_t* signs = p.signs ? p.signs + (index * p.mid_h + my) * mid_w : nullptr;
            if (oy_first > oy_last) {  // a row no output reads (down > taps, or cropped): no gradient flows there
                if (p.mode == 1) std::fill(signs, signs + mid_w, uint8_t(2));
                continue;
            }

            // up stage, vertical pass (separable) or the 2-D filter's rows: intermediate row my
            const int64_t t0 = uy.first_tap(my), base = uy.first_input(my), ntaps = uy.tap_count(my);
            if (p.fu_separable) {
                std::fill(mid, mid + mid_w, S(0));
                for (int64_t j = 0; j < ntaps; ++j) {
                    const S w = wu[t0 + j * uy.up];
                    const S* src = buf.input.data() + (base + j) * mid_w;
#pragma omp simd
                    for (int64_t i = 0; i < mid_w; ++i) mid[i] += w * src[i];
                }
            } else {
                for (int64_t j = 0; j < ntaps; ++j) {
                    buf.rows[j] = buf.input.data() + (base + j) * ux.padded;
                    buf.weights[j] = wu.data() + (t0 + j * uy.up) * p.fu_w;
                }
                horizontal<S>(ux, buf.rows.data(), buf.weights.data(), int(ntaps), mid, buf.residue);
            }

            if (p.mode == 2) mask(mid, signs);
            else activate(mid, signs);

            // down stage: the row's phases, then its horizontal pass into the output rows (separable: once, then
            // scaled by the vertical tap of each output row; 2-D: with the filter row of each output row)
            const S* phases = mid_row;
            if (p.down > 1) {
                buf.phases.resize(p.down * phase_len);
                for (int64_t k = 0; k < p.down; ++k) {
                    S* phase = buf.phases.data() + k * phase_len;
                    for (int64_t j = 0, i = k; i < dx.padded; ++j, i += p.down) phase[j] = mid_row[i];
                }
                phases = buf.phases.data();
            }
            if (p.fd_separable) {
                std::fill(buf.down.begin(), buf.down.end(), S(0));
                decimate_add(phases, phase_len, wd.data(), buf.down.data());
            }
            for (int64_t oy = oy_first; oy <= oy_last; ++oy) {
                const int64_t t = reach - oy * p.down;
                S* dst = buf.out.data() + oy * out_w;
                if (p.fd_separable) {
                    const S w = wd[t];
                    const S* src = buf.down.data();
#pragma omp simd
                    for (int64_t i = 0; i < out_w; ++i) dst[i] += w * src[i];
                } else {
                    decimate_add(phases, phase_len, wd.data() + t * p.fd_w, dst);
                }
            }
        }

        T* y = static_cast<T*>(p.y) + index * p.out_h * out_w;
        const S* out = buf.out.data();
#pragma omp simd
        for (int64_t i = 0; i < p.out_h * out_w; ++i) y[i] = store<T>(out[i]);
    }

    void operator()() const {
        at::parallel_for(0, p.planes, 1, [&](int64_t begin, int64_t end) {
            Scratch<S> buf;
            for (int64_t i = begin; i < end; ++i) plane(i, buf);
        });
    }
};

}  // namespace

template <typename T>
void filtered_lrelu_cpu(const FilteredLReluArgs& args) {
    if (args.planes == 0 || args.out_h == 0 || args.out_w == 0) return;
    FilteredLReluRun<T>{args}();
}

template void filtered_lrelu_cpu<float>(const FilteredLReluArgs&);
template void filtered_lrelu_cpu<double>(const FilteredLReluArgs&);
template void filtered_lrelu_cpu<c10::BFloat16>(const FilteredLReluArgs&);

}  // namespace insilico_ops
