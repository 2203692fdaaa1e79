package uk.nhs.hee.tis.examples.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static uk.nhs.hee.tis.examples.demo.DrillResult.fraction;
import static uk.nhs.hee.tis.examples.demo.DrillResult.millis;
import static uk.nhs.hee.tis.examples.demo.DrillResult.percent;
import static uk.nhs.hee.tis.examples.demo.DrillResult.percentile;

/**
 * The drills' results as a console table (markdown, so it pastes into the docs) and as an HTML
 * report with one latency-over-time chart per drill, without and with the starter side by side.
 */
final class Scorecard {

	private static final Map<String, String> COLOURS = Map.of("/api/status", "#1f77b4", "/api/trainees", "#ff7f0e",
			"/api/sync/grades", "#2ca02c");

	private static final List<String> HEADINGS = List.of("endpoint", "phase", "without: success", "p50 ms", "p99 ms",
			"with: success", "fallbacks", "p50 ms", "p99 ms");

	private final List<DrillResult> results;

	private final String machine;

	Scorecard(List<DrillResult> results, String machine) {
		this.results = results;
		this.machine = machine;
	}

	String markdown() {
		StringBuilder out = new StringBuilder();
		for (DrillResult result : this.results) {
			out.append(String.format(Locale.ROOT, "%n### %s: %s%n%nFault: %s. Phases: before %d s, during %.0f s, after %d s.%n%n",
					result.drill(), result.drill().title(), result.drill().fault(), result.phaseSeconds(),
					(result.faultEndMillis() - result.faultStartMillis()) / 1000.0, result.phaseSeconds()));
			out.append("| ").append(String.join(" | ", HEADINGS)).append(" |\n");
			out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
			for (List<String> row : rows(result)) {
				out.append("| ").append(String.join(" | ", row)).append(" |\n");
			}
			out.append(String.format(Locale.ROOT, "%nTime to recover (/api/trainees fresh again for a second): without %s, with %s.%n",
					recovery(result, "without starter"), recovery(result, "with starter")));
			String noisy = noisyBaseline(result);
			if (noisy != null) {
				out.append("\n").append(noisy).append("\n");
			}
			out.append("\nGoals with the starter:\n");
			for (DrillResult.Goal goal : result.goals()) {
				out.append(String.format(Locale.ROOT, "- %s %s: %s%n", goal.met() ? "[met]" : "[MISSED]", goal.description(),
						goal.measured()));
			}
		}
		return out.toString();
	}

	String html() {
		StringBuilder out = new StringBuilder("""
				<!DOCTYPE html>
				<html lang="en"><head><meta charset="utf-8"><title>tis-resilience outage drills</title>
				<style>
				body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
				table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
				td:first-child,td:nth-child(2),th{text-align:left}.met{color:#2a7d2a}.missed{color:#c00;font-weight:bold}
				svg{border:1px solid #ddd;margin:4px 0}.legend span{margin-right:1.5em}
				</style></head><body>
				<h1>tis-resilience: the outages, replayed</h1>
				""");
		out.append("<p>").append(escape(this.machine)).append("</p>\n");
		out.append(verdict());
		out.append("""
				<p class="legend">Each mark is one request: when it was sent (x) and how long it took (y, log scale).
				<span style="color:#1f77b4">&#9679; /api/status</span><span style="color:#ff7f0e">&#9679; /api/trainees</span>
				<span style="color:#2ca02c">&#9679; /api/sync/grades</span>
				<span style="color:#9467bd">&#9679; served from a fallback (stale userinfo, no site names): the user got an answer</span>
				<span style="color:#8c564b">&#9650; refused with a 503/504 problem: the user got a clear error</span>
				<span style="color:#d62728">&#10005; failed (500, no answer, or the user gave up)</span>.
				The grey band is the fault; the phases are named above each chart, and the warm-up before them is not shown
				(not counted). Dashed lines: the user's give-up time (5 s) and Profile's response-timeout (2 s) with the starter.</p>
				""");
		for (DrillResult result : this.results) {
			out.append("<h2>").append(result.drill()).append(": ").append(escape(result.drill().title())).append("</h2>\n");
			out.append("<p>Fault: ").append(escape(result.drill().fault())).append(".</p>\n");
			out.append("<div>");
			for (String mode : DrillRun.MODES) {
				out.append(chart(result, mode));
			}
			out.append("</div>\n");
			out.append("<p>Time to recover: <b>").append(recovery(result, "without starter")).append("</b> without the starter, <b>")
				.append(recovery(result, "with starter"))
				.append("</b> with it. That is how long after the fault was removed /api/trainees first gave fresh answers "
						+ "(neither stale nor degraded) to at least 95% of the requests of one second.</p>\n");
			String noisy = noisyBaseline(result);
			if (noisy != null) {
				out.append("<p class=\"missed\">").append(escape(noisy)).append("</p>\n");
			}
			out.append("<ul>");
			for (DrillResult.Goal goal : result.goals()) {
				out.append("<li class=\"").append(goal.met() ? "met" : "missed").append("\">")
					.append(goal.met() ? "met: " : "MISSED: ").append(escape(goal.description())).append(": ")
					.append(escape(goal.measured())).append("</li>");
			}
			out.append("</ul>\n");
			out.append(table(result));
		}
		return out.append("</body></html>\n").toString();
	}

	/** The overall verdict, first: whether the starter met every goal, and which it missed. */
	private String verdict() {
		List<String> missed = new ArrayList<>();
		int goals = 0;
		for (DrillResult result : this.results) {
			for (DrillResult.Goal goal : result.goals()) {
				goals++;
				if (!goal.met()) {
					missed.add(result.drill() + " " + goal.description() + ": " + goal.measured());
				}
			}
		}
		if (missed.isEmpty()) {
			return "<p class=\"met\"><b>Verdict: every goal met with the starter (" + goals + " goals in "
					+ this.results.size() + " drills).</b></p>\n";
		}
		StringBuilder out = new StringBuilder("<p class=\"missed\">Verdict: " + missed.size() + " of " + goals
				+ " goals missed with the starter:</p><ul>");
		missed.forEach((miss) -> out.append("<li class=\"missed\">").append(escape(miss)).append("</li>"));
		return out.append("</ul>\n").toString();
	}

	/**
	 * A warning when a mode's healthy phase is too noisy to compare against: its p99 is over ten times its p50
	 * on the endpoint the latency goals read (the machine was busy with something else).
	 */
	static String noisyBaseline(DrillResult result) {
		for (String mode : DrillRun.MODES) {
			List<Sample> healthy = result.select(mode, "/api/trainees", "before");
			long p50 = percentile(healthy, 0.5);
			long p99 = percentile(healthy, 0.99);
			if (p50 > 0 && p99 > 10 * p50) {
				return "Warning: the healthy phase " + mode + " was noisy (/api/trainees p99 " + millis(p99) + " ms, "
						+ (p99 / p50) + " times its p50 of " + millis(p50)
						+ " ms): goals that compare latency with it say little in this run.";
			}
		}
		return null;
	}

	private static String recovery(DrillResult result, String mode) {
		long millis = result.recoveryMillis(mode, "/api/trainees");
		return (millis < 0) ? "not within the phase" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
	}

	private static String table(DrillResult result) {
		StringBuilder out = new StringBuilder("<table><tr><th>").append(String.join("</th><th>", HEADINGS))
			.append("</th></tr>\n");
		for (List<String> row : rows(result)) {
			out.append("<tr><td>").append(String.join("</td><td>", row)).append("</td></tr>\n");
		}
		return out.append("</table>\n").toString();
	}

	/** The scorecard's cells: per endpoint and phase, both modes side by side. */
	private static List<List<String>> rows(DrillResult result) {
		List<List<String>> rows = new ArrayList<>();
		for (String endpoint : DrillResult.ENDPOINTS) {
			for (String phase : DrillResult.PHASES) {
				List<Sample> without = result.select("without starter", endpoint, phase);
				List<Sample> with = result.select("with starter", endpoint, phase);
				rows.add(List.of(endpoint, phase, percent(fraction(without, Sample::ok)), millis(percentile(without, 0.5)),
						millis(percentile(without, 0.99)), percent(fraction(with, Sample::ok)),
						Long.toString(with.stream().filter(Sample::fallback).count()), millis(percentile(with, 0.5)),
						millis(percentile(with, 0.99))));
			}
		}
		return rows;
	}

	private static String chart(DrillResult result, String mode) {
		int width = 580;
		int height = 280;
		int left = 50;
		int bottom = 30;
		int plotWidth = width - left - 10;
		int plotHeight = height - bottom - 25;
		// From the start of the "before" phase: the warm-up is not counted, and not shown.
		double origin = result.beforeStartMillis();
		double span = Math.max(1, result.endMillis() - origin);
		StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
				"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-size=\"11\">", width, height));
		svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"12\" font-weight=\"bold\">%s</text>", left, mode));
		double faultX = left + (result.faultStartMillis() - origin) / span * plotWidth;
		double faultW = (result.faultEndMillis() - result.faultStartMillis()) / span * plotWidth;
		svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"25\" width=\"%.1f\" height=\"%d\" fill=\"#eee\"/>",
				faultX, faultW, plotHeight));
		double afterX = faultX + faultW;
		svg.append(String.format(Locale.ROOT,
				"<text x=\"%d\" y=\"23\" fill=\"#666\">before</text><text x=\"%.1f\" y=\"23\" fill=\"#666\">during (fault)</text>"
						+ "<text x=\"%.1f\" y=\"23\" fill=\"#666\">after</text>",
				left + 2, faultX + 2, afterX + 2));
		// y: latency from 0.1 ms to 10 s, log scale.
		for (int decade = -1; decade <= 4; decade++) {
			double y = 25 + plotHeight - (decade + 1) / 5.0 * plotHeight;
			String label = (decade < 0) ? "0.1 ms" : (decade < 3) ? (int) Math.pow(10, decade) + " ms"
					: (int) Math.pow(10, decade - 3) + " s";
			svg.append(String.format(Locale.ROOT,
					"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"2\" y=\"%.1f\">%s</text>",
					left, left + plotWidth, y, y, y + 4, label));
		}
		for (int second = 0; second <= span / 1000; second += 10) {
			double x = left + second * 1000 / span * plotWidth;
			svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%d s</text>", x - 8, height - 10, second));
		}
		// The user's give-up time, and (with the starter) Profile's response-timeout.
		double giveUp = 25 + plotHeight - (Math.log10(Load.CLIENT_TIMEOUT.toMillis()) + 1) / 5.0 * plotHeight;
		svg.append(String.format(Locale.ROOT,
				"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>"
						+ "<text x=\"%d\" y=\"%.1f\" fill=\"#d62728\">user gives up</text>",
				left, left + plotWidth, giveUp, giveUp, left + plotWidth - 80, giveUp - 3));
		if (mode.equals("with starter")) {
			double deadline = 25 + plotHeight
					- (Math.log10(DrillResult.PROFILE_RESPONSE_TIMEOUT_MILLIS) + 1) / 5.0 * plotHeight;
			svg.append(String.format(Locale.ROOT,
					"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-dasharray=\"2 3\"/>"
							+ "<text x=\"%d\" y=\"%.1f\" fill=\"#555\">response-timeout</text>",
					left, left + plotWidth, deadline, deadline, left + plotWidth - 90, deadline + 11));
		}
		for (Sample sample : result.samples()) {
			if (!sample.mode().equals(mode) || sample.atMillis() < origin) {
				continue;
			}
			double x = left + (sample.atMillis() - origin) / span * plotWidth;
			double decades = Math.log10(Math.max(100, sample.latencyMicros()) / 1000.0) + 1;
			double y = 25 + plotHeight - Math.min(5, decades) / 5.0 * plotHeight;
			if (!sample.ok() && !sample.fallback()) {
				svg.append(String.format(Locale.ROOT,
						"<path d=\"M%.1f %.1fl4 4m0 -4l-4 4\" stroke=\"#d62728\" stroke-width=\"1\"/>", x - 2, y - 2));
			}
			else if (!sample.ok()) {
				// A 503/504 problem: a clear refusal, not an answer.
				svg.append(String.format(Locale.ROOT, "<path d=\"M%.1f %.1fl2.5 4h-5z\" fill=\"#8c564b\"/>", x, y - 2));
			}
			else {
				String colour = sample.fallback() ? "#9467bd" : COLOURS.get(sample.endpoint());
				svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"%s\"/>", x, y,
						colour));
			}
		}
		return svg.append("</svg>").toString();
	}

	private static String escape(String text) {
		return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
	}

}
