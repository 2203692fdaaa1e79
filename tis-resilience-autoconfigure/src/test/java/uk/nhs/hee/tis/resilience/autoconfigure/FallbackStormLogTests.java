package uk.nhs.hee.tis.resilience.autoconfigure;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import uk.nhs.hee.tis.resilience.policy.CallOutcome;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(OutputCaptureExtension.class)
class FallbackStormLogTests {

	private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

	private final FallbackStormLog log = new FallbackStormLog(this.nanos::get);

	@Test
	void logsOneLineWhenAStormStartsAndOneWhenItEnds(CapturedOutput output) {
		for (int i = 0; i < 500; i++) {
			this.log.onCall("profile", (i % 2 == 0) ? CallOutcome.FALLBACK : CallOutcome.STALE, 0);
			this.nanos.addAndGet(10_000_000L);
		}
		assertThat(output.toString().split("fallback_storm_started", -1)).hasSize(2);
		assertThat(output).contains("event=fallback_storm_started service=profile answers=20 withinSeconds=10")
			.doesNotContain("fallback_storm_ended");
		this.nanos.addAndGet(11_000_000_000L);
		this.log.onCall("profile", CallOutcome.SUCCESS, 0);
		assertThat(output).contains("event=fallback_storm_ended service=profile answers=500");
	}

	@Test
	void staysQuietForAFewFallbacks(CapturedOutput output) {
		for (int i = 0; i < 19; i++) {
			this.log.onCall("reference", CallOutcome.FALLBACK, 0);
		}
		this.log.onCall("reference", CallOutcome.SUCCESS, 0);
		assertThat(output).doesNotContain("fallback_storm");
	}

}
