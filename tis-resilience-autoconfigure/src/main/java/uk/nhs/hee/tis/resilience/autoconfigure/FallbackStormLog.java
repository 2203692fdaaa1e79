package uk.nhs.hee.tis.resilience.autoconfigure;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import uk.nhs.hee.tis.resilience.policy.CallListener;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;

/**
 * One WARN line when a service's callers start being answered by fallbacks or stale copies in
 * numbers ({@value #STORM_THRESHOLD} within {@value #WINDOW_SECONDS} s), and one when that stops
 * (a call after {@value #WINDOW_SECONDS} s without any): two lines per storm, however long it lasts.
 */
final class FallbackStormLog implements CallListener {

	private static final Log logger = LogFactory.getLog(FallbackStormLog.class);

	static final int STORM_THRESHOLD = 20;

	static final int WINDOW_SECONDS = 10;

	private static final long WINDOW_NANOS = WINDOW_SECONDS * 1_000_000_000L;

	private final Map<String, Storm> storms = new ConcurrentHashMap<>();

	private final LongSupplier nanoClock;

	FallbackStormLog() {
		this(System::nanoTime);
	}

	FallbackStormLog(LongSupplier nanoClock) {
		this.nanoClock = nanoClock;
	}

	@Override
	public void onCall(String service, CallOutcome outcome, long durationNanos) {
		boolean substitute = outcome == CallOutcome.FALLBACK || outcome == CallOutcome.STALE;
		Storm storm = substitute ? this.storms.computeIfAbsent(service, (name) -> new Storm()) : this.storms.get(service);
		if (storm != null) {
			storm.record(service, substitute, this.nanoClock.getAsLong());
		}
	}

	private static final class Storm {

		private long windowStart;

		private int inWindow;

		private boolean raging;

		private long startedAt;

		private long lastSubstitute;

		private long total;

		synchronized void record(String service, boolean substitute, long now) {
			if (this.raging && now - this.lastSubstitute > WINDOW_NANOS) {
				this.raging = false;
				logger.warn("tis-resilience event=fallback_storm_ended service=" + service + " answers=" + this.total
						+ " durationSeconds=" + (this.lastSubstitute - this.startedAt) / 1_000_000_000L);
			}
			if (!substitute) {
				return;
			}
			this.lastSubstitute = now;
			if (this.raging) {
				this.total++;
				return;
			}
			if (now - this.windowStart > WINDOW_NANOS) {
				this.windowStart = now;
				this.inWindow = 0;
			}
			if (++this.inWindow >= STORM_THRESHOLD) {
				this.raging = true;
				this.startedAt = this.windowStart;
				this.total = this.inWindow;
				logger.warn("tis-resilience event=fallback_storm_started service=" + service + " answers=" + this.inWindow
						+ " withinSeconds=" + WINDOW_SECONDS);
			}
		}

	}

}
