package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Mono;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.awaitility.Awaitility.await;

/**
 * WebClient calls are observed as the blocking clients' are: one {@code tis.resilience.call} per call,
 * a child of WebClient's own {@code http.client.requests}, with one {@code tis.resilience.attempt} child
 * per attempt, stopped when the call really ends (its body), tagged with how it ended.
 */
class WebClientObservationTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final List<Observation.Context> started = new CopyOnWriteArrayList<>();

	private final List<Observation.Context> stopped = new CopyOnWriteArrayList<>();

	private final ObservationRegistry observations = ObservationRegistry.create();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
				ReactiveHttpClientResilienceAutoConfiguration.class))
		.withBean(ObservationRegistry.class, () -> this.observations)
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=5s",
				"tis.resilience.services.profile.retry.initial-backoff=10ms");

	WebClientObservationTests() {
		this.observations.observationConfig().observationHandler(new ObservationHandler<>() {

			@Override
			public boolean supportsContext(Observation.Context context) {
				return true;
			}

			@Override
			public void onStart(Observation.Context context) {
				WebClientObservationTests.this.started.add(context);
			}

			@Override
			public void onStop(Observation.Context context) {
				WebClientObservationTests.this.stopped.add(context);
			}

		});
	}

	private static String profile(String path) {
		return server.baseUrl() + "/profile" + path;
	}

	private List<Observation.Context> stopped(String name) {
		return this.stopped.stream().filter((context) -> name.equals(context.getName())).toList();
	}

	private static String tag(Observation.Context context, String key) {
		return context.getLowCardinalityKeyValue(key).getValue();
	}

	@Test
	void observesTheCallAsAChildOfWebClientsOwnAndEachAttemptAsAChildOfTheCall() {
		server.stubFor(get("/profile/api/userinfo").inScenario("retried")
			.whenScenarioStateIs(STARTED)
			.willReturn(serviceUnavailable())
			.willSetStateTo("healed"));
		server.stubFor(get("/profile/api/userinfo").inScenario("retried").whenScenarioStateIs("healed").willReturn(ok("me")));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).observationRegistry(this.observations).build();
			assertThat(client.get().uri(profile("/api/userinfo")).retrieve().bodyToMono(String.class).block())
				.isEqualTo("me");
			await().atMost(Duration.ofSeconds(5)).until(() -> stopped("tis.resilience.call").size() == 1);
			Observation.Context call = stopped("tis.resilience.call").get(0);
			assertThat(tag(call, "service")).isEqualTo("profile");
			assertThat(tag(call, "outcome")).isEqualTo("success");
			assertThat(call.getParentObservation()).isNotNull();
			assertThat(call.getParentObservation().getContextView().getName()).isEqualTo("http.client.requests");
			List<Observation.Context> attempts = stopped("tis.resilience.attempt");
			assertThat(attempts).hasSize(2);
			assertThat(attempts).allSatisfy((attempt) -> assertThat(attempt.getParentObservation().getContextView())
				.isSameAs(call));
			assertThat(tag(attempts.get(0), "outcome")).isEqualTo("failure");
			assertThat(tag(attempts.get(0), "status")).isEqualTo("503");
			assertThat(tag(attempts.get(1), "outcome")).isEqualTo("success");
			assertThat(attempts.get(1).getHighCardinalityKeyValue("attempt").getValue()).isEqualTo("2");
			server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
		});
	}

	@Test
	void endsTheCallWhenTheBodyEndsSoADribbledBodyIsObservedAsATimeout() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("x".repeat(200)).withChunkedDribbleDelay(20, 5_000)));
		this.runner.withPropertyValues("tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=1").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThatException().isThrownBy(() -> client.get()
				.uri(profile("/api/userinfo"))
				.exchangeToMono((response) -> {
					// Headers are in, the body is not: the call has not ended, nor has its observation.
					assertThat(stopped("tis.resilience.call")).isEmpty();
					assertThat(stopped("tis.resilience.attempt")).hasSize(1);
					return response.bodyToMono(String.class);
				})
				.block());
			await().atMost(Duration.ofSeconds(5)).until(() -> stopped("tis.resilience.call").size() == 1);
			assertThat(tag(stopped("tis.resilience.call").get(0), "outcome")).isEqualTo("timeout");
			assertThat(tag(stopped("tis.resilience.attempt").get(0), "outcome")).isEqualTo("success");
		});
	}

	@Test
	void observesACallRejectedByAnOpenBreakerWithoutAnyAttempt() {
		this.runner.run((context) -> {
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThatException().isThrownBy(() -> client.get().uri(profile("/api/userinfo")).retrieve().bodyToMono(String.class).block())
				.isInstanceOf(ServiceUnavailableException.class);
			assertThat(stopped("tis.resilience.call")).singleElement()
				.satisfies((call) -> assertThat(tag(call, "outcome")).isEqualTo("circuit_open"));
			assertThat(stopped("tis.resilience.attempt")).isEmpty();
			server.verify(0, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
		});
	}

	@Test
	void stopsTheCallAndItsAttemptWhenTheCallerCancels() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(5_000)));
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThatException().isThrownBy(() -> client.get()
				.uri(profile("/api/userinfo"))
				.retrieve()
				.bodyToMono(String.class)
				.timeout(Duration.ofMillis(300), Mono.error(new IllegalStateException("the caller gave up")))
				.block());
			await().atMost(Duration.ofSeconds(3)).until(() -> stopped("tis.resilience.call").size() == 1);
			assertThat(tag(stopped("tis.resilience.call").get(0), "outcome")).isEqualTo("cancelled");
			assertThat(stopped("tis.resilience.attempt")).singleElement()
				.satisfies((attempt) -> assertThat(tag(attempt, "outcome")).isEqualTo("cancelled"));
			// Every observation started was stopped: nothing is left open for a tracer to hold.
			assertThat(this.stopped).containsExactlyInAnyOrderElementsOf(this.started);
		});
	}

}
