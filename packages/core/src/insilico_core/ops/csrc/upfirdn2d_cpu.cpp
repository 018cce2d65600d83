// upfirdn2d on the CPU, polyphase (see cpu_polyphase.h): each output sample sums only the filter taps that land
// on input samples. Planes run in parallel (ATen's OpenMP thread pool).
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "cpu_kernels.h"
#include "cpu_polyphase.h"
#include "cpu_storage.h"

namespace insilico_ops {
namespace {

template <typename S>
struct Plane {
    std::vector<S> input;   // margined input (2-D filter) or one margined row (separable filter)
    std::vector<S> middle;  // separable: rows of the horizontal pass [padded_y, out_w]
    std::vector<S> acc;     // one residue class of an output row
};

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
        if (a.separable) {
            wx = correlation_weights<S>(f, 1, a.filter_w, true, a.flip_filter, S(1));
            wy = correlation_weights<S>(f, 1, a.filter_w, true, a.flip_filter, S(a.gain));
        } else {
            w2 = correlation_weights<S>(f, a.filter_h, a.filter_w, false, a.flip_filter, S(a.gain));
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
