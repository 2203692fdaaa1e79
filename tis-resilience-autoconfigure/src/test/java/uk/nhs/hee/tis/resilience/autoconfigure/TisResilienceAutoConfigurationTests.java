package uk.nhs.hee.tis.resilience.autoconfigure;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(OutputCaptureExtension.class)
class TisResilienceAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class));

	@Test
	void usesTheBuiltInDefaultsWhenNothingIsConfigured() {
		this.runner.run((context) -> {
			ServiceGuardRegistry registry = context.getBean(ServiceGuardRegistry.class);
			assertThat(registry.defaultPolicy()).isEqualTo(ServicePolicy.defaults());
			assertThat(registry.configuredPolicies()).isEmpty();
		});
	}

	@Test
	void letsAServiceOverrideWhatItSetsAndInheritTheRest() {
		this.runner
			.withPropertyValues("tis.resilience.defaults.connect-timeout=300ms",
					"tis.resilience.defaults.circuit-breaker.failure-rate-threshold=30",
					"tis.resilience.services.profile.url=http://profile:8080/profile",
					"tis.resilience.services.profile.response-timeout=2s",
					"tis.resilience.services.profile.stale-if-error=10m",
					"tis.resilience.services.profile.bulkhead.max-concurrent-calls=5")
			.run((context) -> {
				ServicePolicy profile = context.getBean(ServiceGuardRegistry.class).guard("profile").policy();
				assertThat(profile.connectTimeout()).isEqualTo(Duration.ofMillis(300));
				assertThat(profile.responseTimeout()).isEqualTo(Duration.ofSeconds(2));
				assertThat(profile.staleIfError()).isEqualTo(Duration.ofMinutes(10));
				assertThat(profile.bulkhead().maxConcurrentCalls()).isEqualTo(5);
				assertThat(profile.circuitBreaker().failureRateThreshold()).isEqualTo(30);
				assertThat(profile.retry()).isEqualTo(ServicePolicy.RetryPolicy.defaults());
			});
	}

	@Test
	void logsEachConfiguredServiceWithItsEffectivePolicyAtStartup(CapturedOutput output) {
		this.runner
			.withPropertyValues("tis.resilience.services.profile.url=http://profile:8080/profile",
					"tis.resilience.services.profile.response-timeout=2s")
			.run((context) -> assertThat(output).contains(
					"tis-resilience service=profile url=http://profile:8080/profile policy: connect-timeout=PT1S, response-timeout=PT2S"));
	}

	@Test
	void backsOffWhenTheUserProvidesARegistry() {
		this.runner.withUserConfiguration(UserRegistry.class)
			.run((context) -> assertThat(context.getBean(ServiceGuardRegistry.class))
				.isSameAs(context.getBean("userRegistry")));
	}

	@Test
	void doesNothingWhenDisabled() {
		this.runner.withPropertyValues("tis.resilience.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(ServiceGuardRegistry.class));
	}

	@Test
	void stopsStartupOnANegativeDurationNamingTheKey() {
		assertStartupFailsNaming("tis.resilience.defaults.response-timeout=-1s",
				"tis.resilience.defaults.response-timeout must be positive");
	}

	@Test
	void stopsStartupOnAThresholdOver100NamingTheKey() {
		assertStartupFailsNaming("tis.resilience.services.profile.circuit-breaker.failure-rate-threshold=150",
				"tis.resilience.services.profile.circuit-breaker.failure-rate-threshold must be a percentage");
	}

	@Test
	void stopsStartupOnAZeroBulkheadNamingTheKey() {
		assertStartupFailsNaming("tis.resilience.services.profile.bulkhead.max-concurrent-calls=0",
				"tis.resilience.services.profile.bulkhead.max-concurrent-calls must be at least 1");
	}

	@Test
	void stopsStartupOnAJitterOutsideZeroToOneNamingTheKey() {
		assertStartupFailsNaming("tis.resilience.defaults.retry.jitter=1.5",
				"tis.resilience.defaults.retry.jitter must be between 0.0 and 1.0");
	}

	@Test
	void stopsStartupOnAServiceUrlThatIsNotAnAbsoluteHttpUrl() {
		assertStartupFailsNaming("tis.resilience.services.profile.url=profile/api",
				"tis.resilience.services.profile.url must be an absolute http or https URL");
	}

	@Test
	void stopsStartupWhenTwoServicesClaimTheSameUrl() {
		this.runner
			.withPropertyValues("tis.resilience.services.profile.url=http://profile:8080/profile",
					"tis.resilience.services.people.url=http://profile:8080/profile")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.rootCause()
				.hasMessageContaining("tis.resilience.services.people.url")
				.hasMessageContaining("tis.resilience.services.profile.url"));
	}

	@Test
	void stopsStartupWhenTheDefaultsHaveAUrl() {
		assertStartupFailsNaming("tis.resilience.defaults.url=http://profile:8080",
				"tis.resilience.defaults.url is not allowed");
	}

	@Test
	void stopsStartupOnAValueThatIsNotADurationNamingTheKey() {
		this.runner.withPropertyValues("tis.resilience.services.profile.connect-timeout=soon")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.hasStackTraceContaining("tis.resilience.services.profile.connect-timeout"));
	}

	private void assertStartupFailsNaming(String property, String message) {
		this.runner.withPropertyValues(property)
			.run((context) -> assertThat(context).hasFailed().getFailure().rootCause().hasMessageContaining(message));
	}

	@Configuration(proxyBeanMethods = false)
	static class UserRegistry {

		@Bean
		ServiceGuardRegistry userRegistry() {
			return new ServiceGuardRegistry(ServicePolicy.defaults(), java.util.Map.of(), 1);
		}

	}

}
