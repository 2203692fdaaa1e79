package uk.nhs.hee.tis.examples.demo;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One drill, run once: tcs without the starter and tcs with it, side by side under the same load,
 * against the same Profile, Reference and Keycloak, so that both see each fault at the same moment.
 * Phases: before (healthy), during (fault injected until it is removed), after.
 */
final class DrillRun {

	/** Requests per second sent to each endpoint of each tcs instance. */
	static final Map<String, Integer> RATES = Map.of("/api/status", 10, "/api/trainees", 10, "/api/sync/grades", 2);

	/** Load before "before" starts, not counted: the JVMs compile their hot paths. */
	static final int WARM_UP_SECONDS = 10;

	/** Requests sent to each endpoint of a freshly started tcs, one after another, before the load. */
	static final int PRIMING_REQUESTS = 5;

	static final List<String> MODES = List.of("without starter", "with starter");

	private final Drill drill;

	private final Fleet fleet;

	private final int phaseSeconds;

	private final int[] ports = { Fleet.freePort(), Fleet.freePort() };

	private final ManagedProcess[] tcs = new ManagedProcess[2];

	private final List<Load> loads = new ArrayList<>();

	private long startNanos;

	private long beforeStartMillis;

	private long faultStartMillis;

	private long faultEndMillis;

	/**
	 * When the fault's removal began. The fault windows end here, not when the removal is done: removing D7's
	 * fault starts a Profile JVM, which takes seconds of both cores, and answers slowed by that are not the
	 * fault's.
	 */
	private long removingMillis;

	private long endMillis;

	DrillRun(Drill drill, Fleet fleet, int phaseSeconds) {
		this.drill = drill;
		this.fleet = fleet;
		this.phaseSeconds = phaseSeconds;
	}

	Fleet fleet() {
		return this.fleet;
	}

	DrillResult run() throws Exception {
		System.out.printf("%n== %s: %s ==%n   fault: %s%n", this.drill, this.drill.title(), this.drill.fault());
		List<String> tokens = this.fleet.userTokens();
		// Time 0 is when both tcs instances are launched: they fetch their service tokens as they start.
		this.startNanos = System.nanoTime();
		startTcs();
		try {
			for (int i = 0; i < 2; i++) {
				Load load = new Load(MODES.get(i), "http://127.0.0.1:" + this.ports[i], tokens, this.startNanos);
				this.loads.add(load);
				load.prime(RATES.keySet(), PRIMING_REQUESTS);
				load.phase("warm-up");
				load.start(RATES);
			}
			log("warm-up: %d s, not counted", WARM_UP_SECONDS);
			TimeUnit.SECONDS.sleep(WARM_UP_SECONDS);
			phase("before");
			this.beforeStartMillis = now();
			log("before: healthy, %d s", this.phaseSeconds);
			TimeUnit.SECONDS.sleep(this.phaseSeconds);
			phase("during");
			this.faultStartMillis = now();
			log("during: fault injected");
			this.drill.inject(this);
			TimeUnit.SECONDS.sleep(this.drill.faultSeconds(this.phaseSeconds));
			this.removingMillis = now();
			log("removing the fault");
			this.drill.remove(this);
			phase("after");
			this.faultEndMillis = now();
			log("after: fault removed, %d s", this.phaseSeconds);
			TimeUnit.SECONDS.sleep(this.phaseSeconds);
			this.endMillis = now();
		}
		finally {
			for (Load load : this.loads) {
				load.close();
			}
			stopTcs();
		}
		List<Sample> samples = new ArrayList<>();
		this.loads.forEach((load) -> samples.addAll(load.samples()));
		List<FaultWindow> windows;
		synchronized (this.faultWindows) {
			windows = this.faultWindows.stream()
				.map((w) -> new FaultWindow(w.name(), w.startMillis(), Math.min(w.endMillis(), this.removingMillis)))
				.toList();
		}
		return new DrillResult(this.drill, samples, this.beforeStartMillis, this.faultStartMillis, this.faultEndMillis,
				this.endMillis, this.phaseSeconds, windows);
	}

	/** One fault of a drill that injects several, one after another. */
	record Fault(String name, Drill.Step inject) {
	}

	/** When each fault of a sequence started, in milliseconds since the drill started. */
	record FaultWindow(String name, long startMillis, long endMillis) {
	}

	private final List<FaultWindow> faultWindows = new ArrayList<>();

	/**
	 * Injects faults one after another, each for a phase, from a thread of its own (the drill's fault time
	 * covers them all); the windows are recorded for the goals.
	 */
	void faultSequence(List<Fault> faults) {
		Thread sequence = new Thread(() -> {
			try {
				for (int i = 0; i < faults.size(); i++) {
					Fault fault = faults.get(i);
					long start = now();
					log("fault: Profile's second instance %s", fault.name());
					fault.inject().apply(this);
					long end = start + TimeUnit.SECONDS.toMillis(this.phaseSeconds);
					synchronized (this.faultWindows) {
						this.faultWindows.add(new FaultWindow(fault.name(), start, (i < faults.size() - 1) ? end : Long.MAX_VALUE));
					}
					if (i < faults.size() - 1) {
						TimeUnit.MILLISECONDS.sleep(Math.max(0, end - now()));
					}
				}
			}
			catch (Exception ex) {
				log("fault sequence failed: %s", ex);
			}
		}, "drill-faults");
		sequence.setDaemon(true);
		sequence.start();
	}

	/** Restarts both tcs instances; the load pauses meanwhile and nothing is counted. */
	void restartTcs() throws Exception {
		this.loads.forEach((load) -> load.pause(true));
		log("restarting both tcs instances");
		stopTcs();
		startTcs();
		this.loads.forEach((load) -> load.pause(false));
		log("both tcs instances are back");
	}

	private void startTcs() throws Exception {
		List<CompletableFuture<Void>> starts = new ArrayList<>();
		for (int i = 0; i < 2; i++) {
			this.tcs[i] = this.fleet.tcs(i == 1, this.ports[i], this.drill.tcsArgs(this.phaseSeconds, this.fleet));
			ManagedProcess process = this.tcs[i];
			URI ready = URI.create("http://127.0.0.1:" + this.ports[i] + "/api/status");
			starts.add(CompletableFuture.runAsync(() -> {
				try {
					process.start(ready, Duration.ofMinutes(2));
				}
				catch (Exception ex) {
					throw new IllegalStateException(ex);
				}
			}));
		}
		CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).join();
	}

	private void stopTcs() {
		for (ManagedProcess process : this.tcs) {
			if (process != null) {
				process.stop();
			}
		}
	}

	private void phase(String phase) {
		this.loads.forEach((load) -> load.phase(phase));
	}

	private long now() {
		return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - this.startNanos);
	}

	private void log(String format, Object... args) {
		System.out.printf("   [%5.1f s] %s%n", now() / 1000.0, String.format(format, args));
	}

}
