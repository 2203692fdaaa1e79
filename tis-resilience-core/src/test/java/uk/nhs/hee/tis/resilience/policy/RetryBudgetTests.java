package uk.nhs.hee.tis.resilience.policy;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RetryBudgetTests {

	private final AtomicLong nanos = new AtomicLong();

	@Test
	void allowsRetriesUpToTheRatioOfCalls() {
		RetryBudget budget = new RetryBudget(0.2, 0, this.nanos::get);
		for (int i = 0; i < 100; i++) {
			budget.recordCall();
		}
		assertThat(grantedOf(budget, 50)).isEqualTo(20);
	}

	@Test
	void allowsTheFloorPerSecondWhenThereIsLittleTraffic() {
		RetryBudget budget = new RetryBudget(0.2, 3, this.nanos::get);
		budget.recordCall();
		assertThat(grantedOf(budget, 10)).isEqualTo(3);
		this.nanos.addAndGet(1_000_000_000L);
		assertThat(grantedOf(budget, 10)).isEqualTo(3);
	}

	@Test
	void forgetsCallsOlderThanTheWindow() {
		RetryBudget budget = new RetryBudget(0.5, 0, this.nanos::get);
		for (int i = 0; i < 100; i++) {
			budget.recordCall();
		}
		this.nanos.addAndGet(11_000_000_000L);
		assertThat(grantedOf(budget, 10)).isZero();
		budget.recordCall();
		budget.recordCall();
		assertThat(grantedOf(budget, 10)).isEqualTo(1);
	}

	private static int grantedOf(RetryBudget budget, int attempts) {
		int granted = 0;
		for (int i = 0; i < attempts; i++) {
			if (budget.tryAcquireRetry()) {
				granted++;
			}
		}
		return granted;
	}

}
