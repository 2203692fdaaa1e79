package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.authentication.TestingAuthenticationToken;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.awaitility.Awaitility.await;

/** Meters, health, the resilience endpoint and the unprotected-egress report. */
@ExtendWith(OutputCaptureExtension.class)
class ResilienceObservabilityTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients(ResilienceMetricsAutoConfiguration.class,
				ResilienceHealthAutoConfiguration.class, ResilienceEndpointAutoConfiguration.class))
		.withBean(SimpleMeterRegistry.class)
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.retry.max-attempts=1",
				"tis.resilience.services.profile.response-timeout=300ms",
				"tis.resilience.services.profile.stale-if-error=1m",
				"tis.resilience.services.reference.url=" + server.baseUrl() + "/reference",
				"tis.resilience.services.reference.critical=true", "tis.resilience.max-unconfigured-services=50",
				"management.endpoints.web.exposure.include=resilience");

	private static String profile(RestClient client) {
		return client.get().uri(server.baseUrl() + "/profile/api/userinfo").retrieve().body(String.class);
	}

	private static double calls(MeterRegistry registry, String service, CallOutcome outcome) {
		var timer = registry.find("tis.resilience.calls").tags("service", service, "outcome", outcome.tagValue()).timer();
		return (timer != null) ? timer.count() : 0;
	}

	@Test
	void recordsEachOutcomeInOneTimerTaggedByServiceAndOutcome() {
		this.runner.run((context) -> {
			MeterRegistry registry = context.getBean(MeterRegistry.class);
			context.getBeansOfType(MeterBinder.class).values().forEach((binder) -> binder.bindTo(registry));
			RestClient client = context.getBean(RestClient.Builder.class).build();
			server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
			profile(client);
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			profile(client);
			server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(2_000)));
			profile(client);
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			profile(client);
			assertThat(calls(registry, "profile", CallOutcome.SUCCESS)).isEqualTo(1);
			assertThat(calls(registry, "profile", CallOutcome.FAILURE)).isEqualTo(1);
			assertThat(calls(registry, "profile", CallOutcome.TIMEOUT)).isEqualTo(1);
			assertThat(calls(registry, "profile", CallOutcome.CIRCUIT_OPEN)).isEqualTo(1);
			assertThat(calls(registry, "profile", CallOutcome.STALE)).isEqualTo(3);
			assertThat(registry.find("resilience4j.circuitbreaker.state").tag("name", "profile").gauges()).isNotEmpty();
			assertThat(registry.find("resilience4j.bulkhead.available.concurrent.calls").tag("name", "profile").gauge())
				.isNotNull();
		});
	}

	@Test
	void observesEachProtectedCallSoThatItAppearsInTraces() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		TestObservationRegistry observations = TestObservationRegistry.create();
		this.runner.withBean(ObservationRegistry.class, () -> observations)
			// A first call in a cold JVM can take longer than the 300 ms the dribbling tests need.
			.withPropertyValues("tis.resilience.services.profile.response-timeout=5s")
			.run((context) -> {
			profile(context.getBean(RestClient.Builder.class).build());
			TestObservationRegistryAssert.assertThat(observations)
				.hasObservationWithNameEqualTo("tis.resilience.call")
				.that()
				.hasLowCardinalityKeyValue("service", "profile")
				.hasLowCardinalityKeyValue("outcome", "success")
				.hasBeenStopped();
		});
	}

	@Test
	void observesEachAttemptAsAChildOfTheOneCall() {
		server.stubFor(get("/profile/api/userinfo").inScenario("retried")
			.whenScenarioStateIs(com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED)
			.willReturn(com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable())
			.willSetStateTo("healed"));
		server.stubFor(get("/profile/api/userinfo").inScenario("retried").whenScenarioStateIs("healed").willReturn(ok("me")));
		java.util.List<io.micrometer.observation.Observation.Context> stopped = new java.util.concurrent.CopyOnWriteArrayList<>();
		ObservationRegistry observations = ObservationRegistry.create();
		observations.observationConfig().observationHandler(new io.micrometer.observation.ObservationHandler<>() {

			@Override
			public boolean supportsContext(io.micrometer.observation.Observation.Context context) {
				return true;
			}

			@Override
			public void onStop(io.micrometer.observation.Observation.Context context) {
				stopped.add(context);
			}

		});
		this.runner.withBean(ObservationRegistry.class, () -> observations)
			.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2",
					"tis.resilience.services.profile.retry.initial-backoff=10ms",
					"tis.resilience.services.profile.response-timeout=5s")
			.run((context) -> {
				assertThat(profile(context.getBean(RestClient.Builder.class).build())).isEqualTo("me");
				java.util.List<io.micrometer.observation.Observation.Context> attempts = stopped.stream()
					.filter((observed) -> "tis.resilience.attempt".equals(observed.getName()))
					.toList();
				assertThat(attempts).hasSize(2);
				assertThat(attempts).allSatisfy((attempt) -> assertThat(
						attempt.getParentObservation().getContextView().getName()).isEqualTo("tis.resilience.call"));
				assertThat(attempts.get(0).getLowCardinalityKeyValue("outcome").getValue()).isEqualTo("failure");
				assertThat(attempts.get(0).getLowCardinalityKeyValue("status").getValue()).isEqualTo("503");
				assertThat(attempts.get(1).getLowCardinalityKeyValue("outcome").getValue()).isEqualTo("success");
				assertThat(attempts.get(1).getHighCardinalityKeyValue("attempt").getValue()).isEqualTo("2");
				assertThat(stopped).filteredOn((observed) -> "tis.resilience.call".equals(observed.getName())).hasSize(1);
			});
	}

	@Test
	void endsTheObservationWhenTheBodyEndsSoADribbledBodyIsTracedAsATimeout() {
		server.stubFor(get("/reference/api/sites").willReturn(ok("x".repeat(200)).withChunkedDribbleDelay(20, 3_000)));
		TestObservationRegistry observations = TestObservationRegistry.create();
		this.runner.withPropertyValues("tis.resilience.services.reference.response-timeout=300ms",
				"tis.resilience.services.reference.retry.max-attempts=1")
			.withBean(ObservationRegistry.class, () -> observations)
			.run((context) -> {
				RestClient client = context.getBean(RestClient.Builder.class).build();
				assertThatException().isThrownBy(() -> client.get()
					.uri(server.baseUrl() + "/reference/api/sites")
					.exchange((request, response) -> {
						// Headers are in, the body is not: the call has not ended, nor has its trace.
						TestObservationRegistryAssert.assertThat(observations)
							.hasObservationWithNameEqualTo("tis.resilience.call")
							.that()
							.isNotStopped();
						return new String(response.getBody().readAllBytes());
					}));
				TestObservationRegistryAssert.assertThat(observations)
					.hasObservationWithNameEqualTo("tis.resilience.call")
					.that()
					.hasLowCardinalityKeyValue("outcome", "timeout")
					.hasBeenStopped();
				assertThat(calls(context.getBean(MeterRegistry.class), "reference", CallOutcome.TIMEOUT)).isEqualTo(1);
			});
	}

	@Test
	void tracesABodyTooLargeToKeepThatDribblesPastTheDeadlineAsATimeout() {
		server.stubFor(get("/profile/api/userinfo")
			.willReturn(ok("x".repeat(4_000)).withChunkedDribbleDelay(40, 3_000)));
		TestObservationRegistry observations = TestObservationRegistry.create();
		this.runner.withPropertyValues("tis.resilience.stale-cache.max-body-size=1KB")
			.withBean(ObservationRegistry.class, () -> observations)
			.run((context) -> {
				assertThatException().isThrownBy(() -> profile(context.getBean(RestClient.Builder.class).build()));
				TestObservationRegistryAssert.assertThat(observations)
					.hasObservationWithNameEqualTo("tis.resilience.call")
					.that()
					.hasLowCardinalityKeyValue("outcome", "timeout")
					.hasBeenStopped();
			});
	}

	@Test
	void keepsServiceTagValuesBoundedWhateverTheNumberOfHosts() {
		this.runner.run((context) -> {
			MeterRegistry registry = context.getBean(MeterRegistry.class);
			ServiceGuardRegistry guards = context.getBean(ServiceGuardRegistry.class);
			for (int i = 0; i < 10_000; i++) {
				String service = guards.guard("host-" + i + ".example:80").name();
				guards.listener().onCall(service, CallOutcome.SUCCESS, 1_000);
			}
			Set<String> services = registry.find("tis.resilience.calls")
				.timers()
				.stream()
				.map((timer) -> timer.getId().getTag("service"))
				.collect(Collectors.toSet());
			assertThat(services).hasSize(51).contains(ServiceGuardRegistry.OVERFLOW_SERVICE);
		});
	}

	@Test
	void staysUpWhileANonCriticalBreakerIsOpenAndGoesDownForACriticalOne() {
		this.runner.run((context) -> {
			HealthIndicator health = context.getBean("tisResilienceHealthIndicator", HealthIndicator.class);
			ServiceGuardRegistry guards = context.getBean(ServiceGuardRegistry.class);
			guards.guard("profile").circuitBreaker().transitionToForcedOpenState();
			Health degraded = health.health();
			assertThat(degraded.getStatus()).isEqualTo(Status.UP);
			assertThat(degraded.getDetails()).containsEntry("degraded", true);
			guards.guard("reference").circuitBreaker().transitionToForcedOpenState();
			assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
		});
	}

	@Test
	void comesBackUpAfterTheWaitWithoutAnyTrafficToTheCriticalService() {
		server.stubFor(get("/reference/api/bulk").willReturn(
				com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable()));
		this.runner
			.withPropertyValues("tis.resilience.services.reference.retry.max-attempts=1",
					"tis.resilience.services.reference.circuit-breaker.minimum-number-of-calls=2",
					"tis.resilience.services.reference.circuit-breaker.sliding-window-size=2",
					"tis.resilience.services.reference.circuit-breaker.wait-duration-in-open-state=1s")
			.run((context) -> {
				RestClient client = context.getBean(RestClient.Builder.class).build();
				for (int i = 0; i < 2; i++) {
					assertThatException().isThrownBy(
							() -> client.get().uri(server.baseUrl() + "/reference/api/bulk").retrieve().body(String.class));
				}
				ResilienceHealthIndicator health = context.getBean(ResilienceHealthIndicator.class);
				assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
				server.resetRequests();
				// No call is made: a load balancer honouring readiness sends none while the service is DOWN.
				await().atMost(java.time.Duration.ofSeconds(4)).until(() -> health.health().getStatus().equals(Status.UP));
				assertThat(server.getAllServeEvents()).isEmpty();
			});
	}

	@Test
	@SuppressWarnings("unchecked")
	void listsServicesAndLetsAnOperatorForceABreakerOpenWithAnAuditLine(CapturedOutput output) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner.run((context) -> {
			ResilienceEndpoint endpoint = context.getBean(ResilienceEndpoint.class);
			Map<String, Object> services = (Map<String, Object>) endpoint.services().get("services");
			assertThat(services).containsKeys("profile", "reference");
			assertThat((Map<String, Object>) services.get("profile")).containsEntry("state", "CLOSED")
				.containsKey("policy");
			assertThat(endpoint.act("profile", "force-open", new TestingAuthenticationToken("ops-ada", null)).getStatus())
				.isEqualTo(200);
			assertThat(output).contains("tis-resilience event=operator_action service=profile action=force-open principal=ops-ada");
			RestClient client = context.getBean(RestClient.Builder.class).build();
			server.resetRequests();
			assertThatException().isThrownBy(() -> client.get()
				.uri(server.baseUrl() + "/profile/api/other")
				.retrieve()
				.body(String.class)).isInstanceOf(ServiceUnavailableException.class);
			assertThat(server.getAllServeEvents()).isEmpty();
			assertThat((Map<String, Object>) endpoint.service("profile")).containsEntry("state", "FORCED_OPEN");
			assertThat((java.util.List<?>) endpoint.service("profile").get("recentTransitions")).hasSize(1);
		});
	}

	@Test
	void reportsHttpClientsItCannotProtect(CapturedOutput output) {
		this.runner.withUserConfiguration(RawClient.class)
			.run((context) -> assertThat(output).contains("tis-resilience event=unprotected_egress")
				.contains("rawHttpClient (HttpClient"));
	}

	@Test
	void documentsEveryMeter() throws Exception {
		String observability = Files.readString(Path.of("..", "docs", "observability.md"));
		for (String meter : CallMetrics.METERS) {
			assertThat(observability).as("docs/observability.md lists %s", meter).contains("`" + meter + "`");
		}
	}

	@Configuration(proxyBeanMethods = false)
	static class RawClient {

		@Bean
		java.net.http.HttpClient rawHttpClient() {
			return java.net.http.HttpClient.newHttpClient();
		}

	}

}
