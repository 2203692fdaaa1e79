package uk.nhs.hee.tis.resilience.benchmarks;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy;

/** How fast a call is refused when the breaker is open, or the bulkhead is full: no I/O at all. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RejectionBenchmark {

	private ServiceGuard open;

	private ServiceGuard full;

	private final CountDownLatch release = new CountDownLatch(1);

	private Thread holder;

	@Setup
	public void setUp() throws Exception {
		ServicePolicy policy = ServicePolicy.defaults().withBulkhead(new ServicePolicy.BulkheadPolicy(1, Duration.ZERO));
		ServiceGuardRegistry registry = new ServiceGuardRegistry(policy, Map.of("open", policy, "full", policy), 10);
		this.open = registry.guard("open");
		this.open.circuitBreaker().transitionToForcedOpenState();
		this.full = registry.guard("full");
		CountDownLatch holding = new CountDownLatch(1);
		this.holder = new Thread(() -> {
			try {
				this.full.execute(true, () -> {
					holding.countDown();
					this.release.await();
					return null;
				});
			}
			catch (Exception ex) {
				// released at tear-down
			}
		});
		this.holder.start();
		holding.await();
	}

	@TearDown
	public void tearDown() throws InterruptedException {
		this.release.countDown();
		this.holder.join();
	}

	@Benchmark
	public Object breakerOpen() {
		try {
			return this.open.execute(true, () -> "never");
		}
		catch (ServiceUnavailableException ex) {
			return ex;
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

	@Benchmark
	public Object bulkheadFull() {
		try {
			return this.full.execute(true, () -> "never");
		}
		catch (ServiceUnavailableException ex) {
			return ex;
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

}
