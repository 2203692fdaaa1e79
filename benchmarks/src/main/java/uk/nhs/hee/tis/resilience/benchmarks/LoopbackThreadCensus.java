package uk.nhs.hee.tis.resilience.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Where a loopback call's time goes, thread by thread: runs {@link LoopbackHttpBenchmark}'s WebClient
 * pair in one JVM, in alternating blocks of calls, and reads Linux's per-thread scheduler counters
 * ({@code /proc/self/task/<tid>/schedstat}: time on a CPU, time waiting for one, and the number of
 * times the thread was put on a CPU; {@code status}: voluntary and involuntary context switches)
 * before and after each block. Divided by the calls in the block, that is what one call costs each
 * thread, and how often it wakes one. Each client is first warmed for 20 s, as in {@link LoopbackHttpBenchmark}.
 * <p>
 * {@code java -cp benchmarks/target/benchmarks.jar uk.nhs.hee.tis.resilience.benchmarks.LoopbackThreadCensus [calls] [rounds] [protected|unprotected]}
 * (Linux only; with a client named, only that one is counted, for a profile of it alone).
 */
public final class LoopbackThreadCensus {

	private LoopbackThreadCensus() {
	}

	public static void main(String[] args) throws Exception {
		if (Boolean.getBoolean("census.worker")) {
			Thread worker = new Thread(() -> {
				try {
					census(args);
				}
				catch (Exception ex) {
					throw new IllegalStateException(ex);
				}
			}, "census-worker");
			worker.start();
			worker.join();
			return;
		}
		census(args);
	}

	private static void census(String[] args) throws Exception {
		int calls = (args.length > 0) ? Integer.parseInt(args[0]) : 20_000;
		int rounds = (args.length > 1) ? Integer.parseInt(args[1]) : 3;
		LoopbackHttpBenchmark benchmark = new LoopbackHttpBenchmark();
		benchmark.setUp();
		try {
			Map<String, Supplier<String>> clients = Map.of("unprotected", benchmark::unprotectedWebClient, "protected",
					benchmark::protectedWebClient);
			List<String> counted = (args.length > 2) ? List.of(args[2]) : List.of("unprotected", "protected");
			// As long as LoopbackHttpBenchmark's warm-up: a loopback call reaches its steady time after 15-20 s.
			for (String name : counted) {
				long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
				while (System.nanoTime() - end < 0) {
					run(clients.get(name), 1_000);
				}
			}
			for (int round = 0; round < rounds; round++) {
				for (String name : counted) {
					census(name, clients.get(name), calls);
				}
			}
		}
		finally {
			benchmark.tearDown();
		}
	}

	private static void census(String name, Supplier<String> client, int calls) throws IOException {
		Map<String, long[]> before = threads();
		long[] latencies = run(client, calls);
		Map<String, long[]> after = threads();
		Arrays.sort(latencies);
		System.out.printf(Locale.ROOT, "%n%s: p50 %.1f µs, p99 %.1f µs over %d calls%n", name,
				latencies[calls / 2] / 1000.0, latencies[calls * 99 / 100] / 1000.0, calls);
		System.out.println("| thread | on CPU ns/call | waiting for CPU ns/call | runs/call | voluntary switches/call | involuntary/call |");
		Map<String, double[]> perName = new TreeMap<>();
		after.forEach((key, counters) -> {
			long[] start = before.getOrDefault(key, new long[counters.length]);
			double[] sum = perName.computeIfAbsent(key.substring(key.indexOf(' ') + 1), (k) -> new double[counters.length]);
			for (int i = 0; i < counters.length; i++) {
				sum[i] += (counters[i] - start[i]) / (double) calls;
			}
		});
		perName.forEach((thread, sum) -> {
			if (sum[0] >= 50 || sum[2] >= 0.01) {
				System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.2f | %.2f | %.2f |%n", thread, sum[0], sum[1], sum[2],
						sum[3], sum[4]);
			}
		});
	}

	private static long[] run(Supplier<String> client, int calls) {
		long[] latencies = new long[calls];
		for (int i = 0; i < calls; i++) {
			long start = System.nanoTime();
			client.get();
			latencies[i] = System.nanoTime() - start;
		}
		return latencies;
	}

	/** Per thread ("tid name"): on-CPU ns, run-queue wait ns, timeslices, voluntary and involuntary switches. */
	private static Map<String, long[]> threads() throws IOException {
		Map<String, long[]> threads = new TreeMap<>();
		try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
			for (Path task : tasks.toList()) {
				try {
					String name = Files.readString(task.resolve("comm")).trim().replaceAll("-\\d+$", "-N");
					String[] schedstat = Files.readString(task.resolve("schedstat")).trim().split(" ");
					long voluntary = 0;
					long involuntary = 0;
					for (String line : Files.readAllLines(task.resolve("status"))) {
						if (line.startsWith("voluntary_ctxt_switches")) {
							voluntary = Long.parseLong(line.split("\\s+")[1]);
						}
						else if (line.startsWith("nonvoluntary_ctxt_switches")) {
							involuntary = Long.parseLong(line.split("\\s+")[1]);
						}
					}
					threads.put(task.getFileName() + " " + name, new long[] { Long.parseLong(schedstat[0]),
							Long.parseLong(schedstat[1]), Long.parseLong(schedstat[2]), voluntary, involuntary });
				}
				catch (IOException ex) {
					// the thread ended between the listing and the read
				}
			}
		}
		return threads;
	}

}
