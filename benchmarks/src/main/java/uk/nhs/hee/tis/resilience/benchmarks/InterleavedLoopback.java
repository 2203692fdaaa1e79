package uk.nhs.hee.tis.resilience.benchmarks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link LoopbackHttpBenchmark}'s three clients in interleaved rounds, each round in a new
 * order (A B C, B C A, C A B, …), each run in a fresh JVM, so that a slow spell of this shared
 * machine falls on every client alike; then reports the median of the rounds' p50s and p99s and
 * the ratios to the unprotected client with the same timeout. JMH alone runs all forks of one
 * benchmark before the next.
 * <p>
 * {@code java -cp benchmarks/target/benchmarks.jar uk.nhs.hee.tis.resilience.benchmarks.InterleavedLoopback [rounds] [webclient]}:
 * with {@code webclient}, the WebClient pair (protected and unprotected) instead of the three RestClients.
 */
public final class InterleavedLoopback {

	private static final List<String> CLIENTS = List.of("unprotectedRestClientWithReadTimeout", "protectedRestClient",
			"unprotectedRestClient");

	/** The WebClient pair, the unprotected client first: the ratios are to it. */
	private static final List<String> WEB_CLIENTS = List.of("unprotectedWebClient", "protectedWebClient");

	private InterleavedLoopback() {
	}

	public static void main(String[] args) throws Exception {
		int rounds = (args.length > 0) ? Integer.parseInt(args[0]) : 6;
		List<String> clients = (args.length > 1 && "webclient".equals(args[1])) ? WEB_CLIENTS : CLIENTS;
		Map<String, List<double[]>> results = new LinkedHashMap<>();
		clients.forEach((client) -> results.put(client, new ArrayList<>()));
		for (int round = 0; round < rounds; round++) {
			for (int i = 0; i < clients.size(); i++) {
				String client = clients.get((round + i) % clients.size());
				RunResult result = new Runner(new OptionsBuilder()
					.include(LoopbackHttpBenchmark.class.getName() + "\\." + client + "$")
					.forks(1)
					.warmupIterations(10)
					.warmupTime(TimeValue.seconds(2))
					.measurementIterations(3)
					.measurementTime(TimeValue.seconds(2))
					.build()).runSingle();
				var statistics = result.getPrimaryResult().getStatistics();
				results.get(client).add(new double[] { statistics.getPercentile(50), statistics.getPercentile(99) });
			}
		}
		double baseP50 = median(results.get(clients.get(0)), 0);
		double baseP99 = median(results.get(clients.get(0)), 1);
		System.out.printf(Locale.ROOT, "%n%d interleaved rounds, medians over rounds (µs):%n", rounds);
		System.out.println("| client | p50 | p99 | p50 ratio | p99 ratio | p50 per round |");
		System.out.println("| --- | ---: | ---: | ---: | ---: | --- |");
		results.forEach((client, values) -> {
			double p50 = median(values, 0);
			double p99 = median(values, 1);
			System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.3f | %.3f | %s |%n", client, p50, p99, p50 / baseP50,
					p99 / baseP99, values.stream().map((v) -> String.format(Locale.ROOT, "%.0f", v[0])).toList());
		});
	}

	private static double median(List<double[]> values, int index) {
		double[] sorted = values.stream().mapToDouble((v) -> v[index]).sorted().toArray();
		int middle = sorted.length / 2;
		return (sorted.length % 2 == 1) ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
	}

}
