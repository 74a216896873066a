//! `seqring inspect PATH --plot OUT.svg|OUT.png`: what each source's producer did over time, one panel per source,
//! with the gaps marked, so a user sees at a glance whether a run was complete.
//!
//! - **Rates.** Time is split into [`BINS`] equal bins from the first message of any source to the last. In each
//!   bin a source's panel shows its *peak* rate as a line: the highest rate over [`PEAK_WINDOW`] consecutive
//!   intervals inside the bin (for a lone message, the interval since the one before; enough to span tens of µs at 10 M messages/s, so that the µs timestamps do not make
//!   the rate jump), which is a burst's own rate (an average over the bin would hide a 3 ms burst at
//!   5 M messages/s in a 15 ms bin as 1 M/s), and its *mean* rate over the bin as pale bars. A bin without
//!   messages inside the source's span shows one message per the interval that spans it, so a source slower than
//!   the bins stays level and a pause drops to about 0; nothing is drawn outside the span.
//! - **Gaps** are judged against each source's own cadence. A source's usual spacing is the time-weighted median
//!   of the intervals between its messages: the interval length that half of the source's time is spent in, so a
//!   source that sends bursts every 250 ms has a usual spacing of about 250 ms, whatever its rate inside a burst.
//!   Its jitter is the median distance from that spacing of the intervals within a factor 2 of it. A gap is an
//!   interval longer than `max(1.5 × spacing + 6 × jitter, spacing + 0.5 ms)`: data that the source's own rhythm
//!   said would come, and did not. Gaps are shaded in the annotation colour ([`GAP`], never a source colour) and
//!   listed on stderr.
//! - **Formats.** The output's extension picks the backend: `.svg` (plotters' SVG backend) or `.png` (its bitmap
//!   backend and PNG encoder); any other extension is refused. Text is drawn with a subset of DejaVu Sans built into
//!   the binary (`adapters/assets/`), so the plot looks the same on machines without fonts.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::progress::si;
use super::CliError;

/// Bins across the whole run.
const BINS: usize = 200;
/// Consecutive intervals over which a peak rate is measured (fewer when a bin holds fewer).
const PEAK_WINDOW: usize = 1000;
/// The gap annotation: a red no source line uses.
const GAP: RGBColor = RGBColor(220, 40, 40);
/// Source colours: distinct, and none of them red, so that data never looks like an annotation.
const SOURCE_COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(44, 160, 44),   // green
    RGBColor(148, 103, 189), // purple
    RGBColor(255, 127, 14),  // orange
    RGBColor(23, 160, 180),  // teal
    RGBColor(140, 86, 75),   // brown
    RGBColor(150, 150, 20),  // olive
    RGBColor(80, 80, 80),    // grey
];
/// The font built into the binary for every label.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

/// One source's message times, µs since the UNIX epoch, in any order.
pub(crate) struct Series {
    pub(crate) source: u8,
    pub(crate) times_us: Vec<u64>,
}

/// A pause longer than the source's cadence allows, in seconds since the first message of any source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Gap {
    pub(crate) source: u8,
    pub(crate) from_s: f64,
    pub(crate) to_s: f64,
}

/// A source's rhythm: its usual spacing between messages and the longest pause that is not a gap, in µs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cadence {
    pub(crate) spacing_us: f64,
    pub(crate) gap_over_us: f64,
}

/// The cadence of sorted message times, or `None` with fewer than 3 messages or no time between them.
fn cadence(sorted: &[u64]) -> Option<Cadence> {
    if sorted.len() < 3 {
        return None;
    }
    let mut intervals: Vec<u64> = sorted.windows(2).map(|w| w[1] - w[0]).collect();
    intervals.sort_unstable();
    let total: u64 = intervals.iter().sum();
    if total == 0 {
        return None;
    }
    // The time-weighted median: half of the source's time is spent in intervals at most this long.
    let mut covered = 0u64;
    let spacing = intervals
        .iter()
        .copied()
        .find(|&d| {
            covered += d;
            2 * covered >= total
        })
        .unwrap_or(0) as f64;
    let mut deviations: Vec<f64> = intervals
        .iter()
        .map(|&d| d as f64)
        .filter(|&d| d >= spacing / 2.0 && d <= spacing * 2.0)
        .map(|d| (d - spacing).abs())
        .collect();
    deviations.sort_unstable_by(f64::total_cmp);
    let jitter = deviations.get(deviations.len() / 2).copied().unwrap_or(0.0);
    Some(Cadence {
        spacing_us: spacing,
        gap_over_us: (1.5 * spacing + 6.0 * jitter).max(spacing + 500.0),
    })
}

/// The gaps of one source's sorted times, in seconds since `t0`.
fn gaps(source: u8, sorted: &[u64], t0: u64, cadence: Option<Cadence>) -> Vec<Gap> {
    let Some(c) = cadence else { return Vec::new() };
    sorted
        .windows(2)
        .filter(|w| (w[1] - w[0]) as f64 > c.gap_over_us)
        .map(|w| Gap {
            source,
            from_s: (w[0] - t0) as f64 / 1e6,
            to_s: (w[1] - t0) as f64 / 1e6,
        })
        .collect()
}

/// One source, binned: per-bin message counts, mean and peak rates (messages/s), its cadence and its gaps.
pub(crate) struct Binned {
    pub(crate) source: u8,
    pub(crate) messages: usize,
    pub(crate) counts: Vec<u64>,
    pub(crate) mean: Vec<f64>,
    pub(crate) peak: Vec<f64>,
    pub(crate) cadence: Option<Cadence>,
    pub(crate) gaps: Vec<Gap>,
}

/// Bins every series over `[t0, t0 + BINS * width)`; returns the bin width in µs and the binned sources.
fn bin(series: &[Series]) -> (f64, Vec<Binned>) {
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
    let binned = series
        .iter()
        .map(|s| {
            let mut sorted = s.times_us.clone();
            sorted.sort_unstable();
            let bin_of = |t: u64| (((t - t0) as f64 / width) as usize).min(BINS - 1);
            let mut counts = vec![0u64; BINS];
            // NaN outside the source's span: nothing is drawn there.
            let mut peak = vec![f64::NAN; BINS];
            let mut start = 0;
            while start < sorted.len() {
                let b = bin_of(sorted[start]);
                let end = start + sorted[start..].partition_point(|&t| bin_of(t) == b);
                let n = end - start;
                counts[b] = n as u64;
                let per_s = |us: u64, k: usize| k as f64 / (us.max(1) as f64 / 1e6); // µs stamps: at least 1 µs
                peak[b] = if n >= 2 {
                    // The fastest run of k consecutive intervals inside the bin.
                    let k = PEAK_WINDOW.min(n - 1);
                    per_s(
                        sorted[start..end]
                            .windows(k + 1)
                            .map(|w| w[k] - w[0])
                            .min()
                            .unwrap_or(0),
                        k,
                    )
                } else if start > 0 {
                    // A lone message: the interval since the source's previous one.
                    per_s(sorted[start] - sorted[start - 1], 1)
                } else if end < sorted.len() {
                    // The source's first message: the interval to its second.
                    per_s(sorted[end] - sorted[start], 1)
                } else {
                    1.0 / (width / 1e6)
                };
                start = end;
            }
            // An empty bin inside the span lies within one interval between two messages: the producer's rate
            // there is one message per that interval (a slow periodic source stays level, a pause drops to ~0).
            if let (Some(&first), Some(&last)) = (sorted.first(), sorted.last()) {
                for (b, p) in peak.iter_mut().enumerate().take(bin_of(last)).skip(bin_of(first)) {
                    if counts[b] == 0 {
                        let from = t0 + (b as f64 * width) as u64;
                        let next = sorted.partition_point(|&t| t < from).min(sorted.len() - 1);
                        let interval = sorted[next] - sorted[next.saturating_sub(1)];
                        *p = 1e6 / interval.max(1) as f64;
                    }
                }
            }
            let cadence = cadence(&sorted);
            Binned {
                source: s.source,
                messages: sorted.len(),
                mean: counts.iter().map(|&n| n as f64 / (width / 1e6)).collect(),
                counts,
                peak,
                cadence,
                gaps: gaps(s.source, &sorted, t0, cadence),
            }
        })
        .collect();
    (width, binned)
}

/// The image formats `--plot` writes, by the output's extension.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Format {
    Svg,
    Png,
}

impl Format {
    /// The format for `path`'s extension (case-insensitive), or why there is none.
    pub(crate) fn of(path: &Path) -> Result<Format, String> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(format!(
                "{} does not end in .svg or .png, the two formats --plot writes",
                path.display()
            )),
        }
    }
}

/// A duration in µs as text people read: `250 ms`, `1.20 s`, `3 µs`.
fn duration(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        // Three significant digits, without trailing zeros.
        let ms = us / 1e3;
        let decimals = if ms >= 100.0 {
            0
        } else if ms >= 10.0 {
            1
        } else {
            2
        };
        let text = format!("{ms:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        format!("{text} ms")
    } else {
        format!("{us:.0} µs")
    }
}

/// Draws `series` into `out` (SVG or PNG, by its extension) and returns every source's binned data, with its
/// cadence and gaps.
///
/// # Errors
/// An unsupported extension, a file that cannot be created (a missing directory, no permission), or a drawing
/// error, each naming `out`.
pub(crate) fn plot(series: &[Series], out: &Path) -> Result<Vec<Binned>, CliError> {
    let format = Format::of(out)?;
    // Creating the file first turns a missing directory or a denied permission into the OS's own words, rather
    // than the drawing backend's "Drawing backend error".
    std::fs::File::create(out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is built in and valid; should registering fail, drawing text reports it below.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let (width_us, binned) = bin(series);
    let size = (1100, 90 + 190 * binned.len().max(1) as u32);
    let drawn = match format {
        Format::Svg => draw(SVGBackend::new(out, size).into_drawing_area(), &binned, width_us),
        Format::Png => draw(BitMapBackend::new(out, size).into_drawing_area(), &binned, width_us),
    };
    drawn.map_err(|e| format!("cannot draw {}: {e}", out.display()))?;
    Ok(binned)
}

/// Draws one panel per source onto `root`.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    binned: &[Binned],
    width_us: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let width_s = width_us / 1e6;
    let span_s = width_s * BINS as f64;
    let root = root.titled(
        &format!(
            "messages per second in each {} bin: line = peak (the fastest {} consecutive messages), bars = mean; \
             red = gap",
            duration(width_us),
            super::progress::grouped(PEAK_WINDOW as u64 + 1)
        ),
        ("sans-serif", 17),
    )?;
    let panels = root.split_evenly((binned.len().max(1), 1));
    for (i, (b, panel)) in binned.iter().zip(&panels).enumerate() {
        let colour = SOURCE_COLOURS[i % SOURCE_COLOURS.len()];
        // Head room above the highest peak for the legend, so that it hides no data.
        let top = b.peak.iter().chain(&b.mean).copied().fold(0.0, f64::max).max(1.0) * 1.7;
        let last = i + 1 == binned.len();
        let caption = match b.cadence {
            Some(c) => format!(
                "source {}: {} messages; usual spacing {}, a gap is a pause over {}; {}",
                b.source,
                super::progress::grouped(b.messages as u64),
                duration(c.spacing_us),
                duration(c.gap_over_us),
                match b.gaps.len() {
                    0 => "no gaps".to_owned(),
                    1 => "1 gap".to_owned(),
                    n => format!("{n} gaps"),
                }
            ),
            None => format!(
                "source {}: {} message{}",
                b.source,
                b.messages,
                if b.messages == 1 { "" } else { "s" }
            ),
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(if last { 38 } else { 22 })
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..span_s, 0.0..top)?;
        let mut mesh = chart.configure_mesh();
        mesh.y_label_formatter(&|v| format!("{}/s", si(*v)))
            .x_label_formatter(&|v| format!("{v:.1} s"))
            .light_line_style(WHITE.mix(0.0))
            .y_labels(4);
        if last {
            mesh.x_desc("seconds since the first message");
        }
        mesh.draw()?;
        for (k, gap) in b.gaps.iter().enumerate() {
            let shade = chart.draw_series(std::iter::once(Rectangle::new(
                // At least half a bin wide, so that a short gap stays visible.
                [(gap.from_s, 0.0), (gap.to_s.max(gap.from_s + width_s / 2.0), top)],
                GAP.mix(0.25).filled(),
            )))?;
            if k == 0 {
                shade
                    .label("gap")
                    .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], GAP.mix(0.25).filled()));
            }
        }
        chart
            .draw_series(
                b.mean
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| b.counts[k] > 0)
                    .map(|(k, &m)| {
                        Rectangle::new(
                            [(k as f64 * width_s, 0.0), ((k + 1) as f64 * width_s, m)],
                            colour.mix(0.3).filled(),
                        )
                    }),
            )?
            .label("mean per bin")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], colour.mix(0.3).filled()));
        chart
            .draw_series(LineSeries::new(
                // A step per bin, so that a source whose span is one bin still shows.
                b.peak
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| !p.is_nan())
                    .flat_map(|(k, &p)| [(k as f64 * width_s, p), ((k + 1) as f64 * width_s, p)]),
                colour.stroke_width(2),
            ))?
            .label(format!("source {} peak", b.source))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_000_000_000;

    fn series(source: u8, times_us: Vec<u64>) -> Series {
        Series { source, times_us }
    }

    /// Bursts of `n` messages 1 µs apart every 250 ms for 3 s, skipping the bursts in `missing`.
    fn bursts(n: u64, missing: &[u64]) -> Vec<u64> {
        (0..12u64)
            .filter(|b| !missing.contains(b))
            .flat_map(|b| (0..n).map(move |i| T0 + b * 250_000 + i))
            .collect()
    }

    #[test]
    fn the_pauses_between_bursts_are_the_cadence_not_gaps() {
        let (_, b) = bin(&[series(1, bursts(1000, &[]))]);
        let c = b[0].cadence.unwrap();
        assert!((c.spacing_us - 249_001.0).abs() < 1.0, "{c:?}");
        assert!(b[0].gaps.is_empty(), "{:?}", b[0].gaps);
        // A missing burst is a gap, from the end of burst 4 to the start of burst 6.
        let (_, b) = bin(&[series(1, bursts(1000, &[5]))]);
        assert_eq!(b[0].gaps.len(), 1, "{:?}", b[0].gaps);
        let g = b[0].gaps[0];
        assert!(
            (g.from_s - 1.000999).abs() < 1e-6 && (g.to_s - 1.5).abs() < 1e-6,
            "{g:?}"
        );
    }

    #[test]
    fn the_peak_rate_is_the_bursts_rate_and_the_mean_is_lower() {
        let (width, b) = bin(&[series(1, bursts(1000, &[]))]);
        let peak = b[0].peak.iter().copied().fold(0.0, f64::max);
        assert!((peak - 1e6).abs() < 1e3, "1 message per µs inside a burst: {peak}");
        let mean = b[0].mean.iter().copied().fold(0.0, f64::max);
        let expected_mean = 1000.0 / (width / 1e6);
        assert!((mean - expected_mean).abs() < 1.0, "{mean} vs {expected_mean}");
        assert!(mean < peak / 10.0);
    }

    #[test]
    fn a_periodic_source_with_a_hole_has_one_gap_and_a_steady_one_none() {
        // Source 1: every ms at 0–1 s and 2–3 s; source 2: every ms from 0.5 s to 2.5 s.
        let s1 = (0..1000).chain(2000..3000).map(|ms| T0 + ms * 1000).collect();
        let s2 = (500..2500).map(|ms| T0 + ms * 1000).collect();
        let (_, b) = bin(&[series(1, s1), series(2, s2)]);
        assert_eq!(b[0].counts.iter().sum::<u64>(), 2000);
        assert_eq!(b[0].cadence.unwrap().spacing_us, 1000.0);
        assert_eq!(
            b[0].gaps,
            vec![Gap {
                source: 1,
                from_s: 0.999,
                to_s: 2.0
            }]
        );
        assert!(b[1].gaps.is_empty(), "{:?}", b[1].gaps);
        let peak = b[1].peak[100];
        assert!((peak - 1000.0).abs() < 1.0, "1 kHz: {peak}");
    }

    #[test]
    fn one_missing_sample_of_a_periodic_source_is_a_gap_but_jitter_is_not() {
        // 1 kHz with ±100 µs of jitter, and sample 500 missing.
        let times: Vec<u64> = (0..1000u64)
            .filter(|&k| k != 500)
            .map(|k| T0 + k * 1000 + [0, 100, 50, 0, 80][(k % 5) as usize])
            .collect();
        let (_, b) = bin(&[series(3, times)]);
        assert_eq!(b[0].gaps.len(), 1, "{:?} {:?}", b[0].gaps, b[0].cadence);
        assert!((b[0].gaps[0].from_s - 0.499).abs() < 1e-3, "{:?}", b[0].gaps);
    }

    #[test]
    fn a_source_slower_than_the_bins_stays_level() {
        // Every 8 ms for 1 s: bins of about 5 ms, so every other bin is empty.
        let (width, b) = bin(&[series(4, (0..125).map(|k| T0 + k * 8000).collect())]);
        assert!(width < 8000.0);
        let drawn: Vec<f64> = b[0].peak.iter().copied().filter(|p| !p.is_nan()).collect();
        assert!(drawn.len() >= BINS - 1, "{}", drawn.len());
        assert!(drawn.iter().all(|&p| (p - 125.0).abs() < 0.01), "{drawn:?}");
        assert!(b[0].gaps.is_empty());
    }

    #[test]
    fn too_few_messages_have_no_cadence() {
        assert_eq!(cadence(&[T0, T0 + 5]), None);
        assert_eq!(cadence(&[T0, T0, T0]), None);
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a/b.svg")), Ok(Format::Svg));
        assert_eq!(Format::of(Path::new("b.PNG")), Ok(Format::Png));
        assert!(Format::of(Path::new("b.jpg")).unwrap_err().contains("b.jpg"));
        assert!(Format::of(Path::new("b")).is_err());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(250_000.0), "250 ms");
        assert_eq!(duration(1_500.0), "1.5 ms");
        assert_eq!(duration(3.0), "3 µs");
        assert_eq!(duration(2_500_000.0), "2.50 s");
    }
}
