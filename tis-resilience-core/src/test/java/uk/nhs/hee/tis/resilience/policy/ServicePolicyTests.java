package uk.nhs.hee.tis.resilience.policy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class ServicePolicyTests {

	@Test
	void hasTheDocumentedDefaults() {
		ServicePolicy policy = ServicePolicy.defaults();
		assertThat(policy.connectTimeout()).isEqualTo(Duration.ofSeconds(1));
		assertThat(policy.responseTimeout()).isEqualTo(Duration.ofSeconds(5));
		assertThat(policy.circuitBreaker().failureRateThreshold()).isEqualTo(50);
		assertThat(policy.circuitBreaker().slidingWindowSize()).isEqualTo(20);
		assertThat(policy.bulkhead().maxConcurrentCalls()).isEqualTo(25);
		assertThat(policy.retry().maxAttempts()).isEqualTo(2);
		assertThat(policy.retry().budgetRatio()).isEqualTo(0.2);
		assertThat(policy.staleIfError()).isZero();
	}

	@Test
	void copiesWithOneValueChanged() {
		ServicePolicy policy = ServicePolicy.defaults().withResponseTimeout(Duration.ofSeconds(2));
		assertThat(policy.responseTimeout()).isEqualTo(Duration.ofSeconds(2));
		assertThat(policy.withResponseTimeout(Duration.ofSeconds(5))).isEqualTo(ServicePolicy.defaults());
	}

	@Test
	void rejectsANegativeTimeoutNamingItsKey() {
		assertThatIllegalArgumentException()
			.isThrownBy(() -> ServicePolicy.defaults().withConnectTimeout(Duration.ofSeconds(-1)))
			.withMessage("connect-timeout must be positive but was PT-1S");
	}

	@Test
	void rejectsAThresholdOver100NamingItsKey() {
		assertThatIllegalArgumentException()
			.isThrownBy(() -> new ServicePolicy.CircuitBreakerPolicy(101, Duration.ofSeconds(1), 50, 10, 5,
					Duration.ofSeconds(1), 1))
			.withMessageStartingWith("circuit-breaker.failure-rate-threshold must be a percentage");
	}

}
