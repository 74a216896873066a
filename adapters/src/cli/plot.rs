//! `seqring inspect PATH --plot OUT.svg`: each source's message rate over time as an SVG (plotters), with the gaps
//! marked, so a user sees at a glance whether a run was complete.
//!
//! Time is split into [`BINS`] equal bins from the first message of any source to the last. A source's rate in a
//! bin is its message count divided by the bin's width. A **gap** is a run of empty bins between a source's first
//! and last message; each is shaded red behind the lines and listed on stdout.

use std::path::Path;

use plotters::prelude::*;

use super::CliError;

/// Bins across the whole run.
const BINS: usize = 200;
/// The gap shading.
const GAP: RGBColor = RGBColor(220, 40, 40);

/// One source's message times, µs since the UNIX epoch, in any order.
pub(crate) struct Series {
    pub(crate) source: u8,
    pub(crate) times_us: Vec<u64>,
}

/// A run of empty bins inside one source's span, in seconds since the first message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Gap {
    pub(crate) source: u8,
    pub(crate) from_s: f64,
    pub(crate) to_s: f64,
}

/// Per-bin counts of each series over `[t0, t0 + BINS * width)`, and the gaps.
fn bin(series: &[Series]) -> (u64, f64, Vec<Vec<u64>>, Vec<Gap>) {
    let t0 = series
        .iter()
        .filter_map(|s| s.times_us.iter().min())
        .min()
        .copied()
        .unwrap_or(0);
    let t1 = series
        .iter()
        .filter_map(|s| s.times_us.iter().max())
        .max()
        .copied()
        .unwrap_or(t0);
    // Width in µs, at least 1, so that the last message falls in the last bin.
    let width = ((t1 - t0) as f64 / BINS as f64).max(1.0) * (1.0 + 1e-9);
    let mut counts = Vec::new();
    let mut gaps = Vec::new();
    for s in series {
        let mut c = vec![0u64; BINS];
        for &t in &s.times_us {
            c[(((t - t0) as f64 / width) as usize).min(BINS - 1)] += 1;
        }
        let first = c.iter().position(|&n| n > 0);
        let last = c.iter().rposition(|&n| n > 0);
        if let (Some(first), Some(last)) = (first, last) {
            let mut i = first;
            while i < last {
                if c[i] == 0 {
                    let start = i;
                    while c[i] == 0 {
                        i += 1;
                    }
                    gaps.push(Gap {
                        source: s.source,
                        from_s: start as f64 * width / 1e6,
                        to_s: i as f64 * width / 1e6,
                    });
                }
                i += 1;
            }
        }
        counts.push(c);
    }
    (t0, width, counts, gaps)
}

/// Draws the rates of `series` into the SVG file `out` and returns the gaps found.
pub(crate) fn plot(series: &[Series], out: &Path) -> Result<Vec<Gap>, CliError> {
    let (_, width_us, counts, gaps) = bin(series);
    let width_s = width_us / 1e6;
    let max_rate = counts.iter().flatten().copied().max().unwrap_or(0) as f64 / width_s;
    let span_s = width_s * BINS as f64;
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(out, (1000, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("message rate per source (gaps shaded red)", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..span_s, 0.0..(max_rate * 1.1).max(1.0))?;
        chart
            .configure_mesh()
            .x_desc("seconds since the first message")
            .y_desc("messages / s")
            .draw()?;
        for (k, gap) in gaps.iter().enumerate() {
            let shade = chart.draw_series(std::iter::once(Rectangle::new(
                [(gap.from_s, 0.0), (gap.to_s, max_rate * 1.1)],
                GAP.mix(0.3).filled(),
            )))?;
            if k == 0 {
                shade
                    .label("gap")
                    .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], GAP.mix(0.3).filled()));
            }
        }
        for (i, (s, c)) in series.iter().zip(&counts).enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    c.iter()
                        .enumerate()
                        .map(|(b, &n)| ((b as f64 + 0.5) * width_s, n as f64 / width_s)),
                    color.stroke_width(2),
                ))?
                .label(format!("source {}", s.source))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| format!("cannot draw {}: {e}", out.display()))?;
    Ok(gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_stretch_inside_a_source_is_a_gap_and_the_ends_are_not() {
        // Source 1: 0–1 s and 2–3 s; source 2 starts late (0.5 s) and ends early (2.5 s) with no hole.
        let s1 = (0..1000)
            .chain(2000..3000)
            .map(|ms| 1_000_000_000 + ms * 1000)
            .collect();
        let s2 = (500..2500).map(|ms| 1_000_000_000 + ms * 1000).collect();
        let series = [
            Series {
                source: 1,
                times_us: s1,
            },
            Series {
                source: 2,
                times_us: s2,
            },
        ];
        let (_, width, counts, gaps) = bin(&series);
        assert_eq!(counts[0].iter().sum::<u64>(), 2000);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        let g = gaps[0];
        assert_eq!(g.source, 1);
        let bin_s = width / 1e6;
        assert!(
            (g.from_s - 1.0).abs() <= bin_s && (g.to_s - 2.0).abs() <= bin_s,
            "{g:?}"
        );
    }
}
