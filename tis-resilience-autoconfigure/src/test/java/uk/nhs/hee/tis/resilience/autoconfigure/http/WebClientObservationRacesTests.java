package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.support.WebClientAdapter;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.invoker.HttpServiceProxyFactory;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.actuate.ResilienceMetricsAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.token.ServiceTokenProvider;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.awaitility.Awaitility.await;

/**
 * WebClient observations under odd-but-legal use, many calls at once: every observation started is
 * stopped exactly once, the trace agrees with the meters, and every bulkhead slot comes back.
 */
class WebClientObservationRacesTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer(wireMockConfig().containerThreads(60));

	/** Every observation context, with how many times it was started and stopped. */
	private final Map<Observation.Context, int[]> counts = new IdentityHashMap<>();

	private final ObservationRegistry observations = ObservationRegistry.create();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(ResilienceMetricsAutoConfiguration.class,
				TisResilienceAutoConfiguration.class, ReactiveHttpClientAutoConfiguration.class,
				WebClientAutoConfiguration.class, ReactiveHttpClientResilienceAutoConfiguration.class))
		.withBean(ObservationRegistry.class, () -> this.observations)
		.withBean(SimpleMeterRegistry.class)
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=2s",
				"tis.resilience.services.profile.retry.initial-backoff=10ms",
				"tis.resilience.services.profile.bulkhead.max-concurrent-calls=200",
				"tis.resilience.services.profile.circuit-breaker.minimum-number-of-calls=100000");

	WebClientObservationRacesTests() {
		this.observations.observationConfig().observationHandler(new ObservationHandler<>() {

			@Override
			public boolean supportsContext(Observation.Context context) {
				return true;
			}

			@Override
			public void onStart(Observation.Context context) {
				synchronized (WebClientObservationRacesTests.this.counts) {
					WebClientObservationRacesTests.this.counts.computeIfAbsent(context, (c) -> new int[2])[0]++;
				}
			}

			@Override
			public void onStop(Observation.Context context) {
				synchronized (WebClientObservationRacesTests.this.counts) {
					WebClientObservationRacesTests.this.counts.computeIfAbsent(context, (c) -> new int[2])[1]++;
				}
			}

		});
	}

	private static String profile(String path) {
		return server.baseUrl() + "/profile" + path;
	}

	private List<String> problems(String prefix) {
		List<String> problems = new ArrayList<>();
		synchronized (this.counts) {
			this.counts.forEach((context, n) -> {
				if (context.getName() != null && context.getName().startsWith(prefix) && (n[0] != 1 || n[1] != 1)) {
					problems.add(context.getName() + " started " + n[0] + " stopped " + n[1] + " "
							+ context.getLowCardinalityKeyValues());
				}
			});
		}
		return problems;
	}

	private List<Observation.Context> stopped(String name) {
		synchronized (this.counts) {
			return this.counts.entrySet()
				.stream()
				.filter((e) -> name.equals(e.getKey().getName()) && e.getValue()[1] > 0)
				.map(Map.Entry::getKey)
				.toList();
		}
	}

	private static double calls(MeterRegistry registry, String outcome) {
		Timer timer = registry.find("tis.resilience.calls").tags("service", "profile", "outcome", outcome).timer();
		return (timer != null) ? timer.count() : 0;
	}

	interface Api {

		@GetExchange("/profile/api/ok")
		Mono<String> ok();

	}

	/** Many parallel calls, mixed faults and consumption styles: every observation started is stopped once. */
	@Test
	void manyParallelCallsEachObservationStoppedExactlyOnce() {
		server.stubFor(get("/profile/api/ok").willReturn(ok("fine")));
		server.stubFor(get("/profile/api/slow").willReturn(ok("slow").withFixedDelay(150)));
		server.stubFor(get("/profile/api/fail").willReturn(serviceUnavailable()));
		server.stubFor(get("/profile/api/dribble").willReturn(ok("x".repeat(50)).withChunkedDribbleDelay(10, 400)));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).baseUrl(server.baseUrl()).build();
			Api api = HttpServiceProxyFactory.builderFor(WebClientAdapter.create(client)).build().createClient(Api.class);
			List<Mono<Object>> calls = new ArrayList<>();
			for (int i = 0; i < 300; i++) {
				int kind = i % 8;
				Mono<Object> call = switch (kind) {
					case 0 -> client.get().uri("/profile/api/ok").retrieve().bodyToMono(String.class).cast(Object.class);
					case 1 -> client.get().uri("/profile/api/fail").retrieve().bodyToMono(String.class).cast(Object.class);
					case 2 -> client.get().uri("/profile/api/slow").retrieve().bodyToMono(String.class)
						.timeout(Duration.ofMillis(ThreadLocalRandom.current().nextInt(1, 200)))
						.cast(Object.class);
					case 3 -> client.get().uri("/profile/api/ok").exchangeToMono((r) -> Mono.just(r.statusCode()))
						.cast(Object.class);
					case 4 -> client.get().uri("/profile/api/ok").retrieve().toBodilessEntity().cast(Object.class);
					case 5 -> client.get().uri("/profile/api/dribble").retrieve().bodyToMono(String.class)
						.timeout(Duration.ofMillis(ThreadLocalRandom.current().nextInt(1, 500)))
						.cast(Object.class);
					case 6 -> api.ok().cast(Object.class);
					default -> client.get().uri("/profile/api/fail").retrieve().toBodilessEntity()
						.timeout(Duration.ofMillis(ThreadLocalRandom.current().nextInt(1, 60)))
						.cast(Object.class);
				};
				calls.add(call.onErrorResume((ex) -> Mono.just("error")).subscribeOn(Schedulers.parallel()));
			}
			Flux.merge(Flux.fromIterable(calls), 64).blockLast(Duration.ofSeconds(60));
			ServiceGuard guard = context.getBean(ServiceGuardRegistry.class).guard("profile");
			await().atMost(Duration.ofSeconds(10))
				.untilAsserted(() -> assertThat(guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(200));
			await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(problems("tis.resilience")).isEmpty());
		});
	}

	/**
	 * A caller that gives up mid-body: the observation says how the call ended, and it is the one the
	 * meter counts (docs/observability.md: "its outcome is the one tis.resilience.calls counts").
	 */
	@Test
	void callerCancelsMidBodyObservationAndMeterAgree() {
		server.stubFor(get("/profile/api/dribble").willReturn(ok("x".repeat(100)).withChunkedDribbleDelay(50, 1_500)));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=1").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThatException().isThrownBy(() -> client.get()
				.uri(profile("/api/dribble"))
				.retrieve()
				.bodyToMono(String.class)
				// Mid-body: the headers come at once (a cold Reactor Netty takes ~500 ms on two busy cores), the
				// body takes 1.5 s.
				.timeout(Duration.ofMillis(1_000))
				.block());
			ServiceGuard guard = context.getBean(ServiceGuardRegistry.class).guard("profile");
			await().atMost(Duration.ofSeconds(5)).until(() -> stopped("tis.resilience.call").size() == 1);
			await().atMost(Duration.ofSeconds(5))
				.untilAsserted(() -> assertThat(guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(200));
			String outcome = stopped("tis.resilience.call").get(0).getLowCardinalityKeyValue("outcome").getValue();
			MeterRegistry meters = context.getBean(MeterRegistry.class);
			double success = calls(meters, "success");
			double recorded = guard.circuitBreaker().getMetrics().getNumberOfBufferedCalls();
			assertThat(problems("tis.resilience")).isEmpty();
			// As for the blocking clients, a reader that stops reading does not make the service's answer a
			// failure: the call is a success in the trace, the meter and the breaker alike.
			assertThat(outcome + " meter.success=" + success + " breaker.recorded=" + recorded)
				.isEqualTo("success meter.success=1.0 breaker.recorded=1.0");
		});
	}

	/** A service-token provider that fails with something other than ServiceUnavailableException. */
	@Test
	void tokenProviderThrowingAnUncheckedExceptionLeavesNoObservationOpen() {
		this.runner.withBean(ServiceTokenProvider.class, () -> (service) -> {
			throw new IllegalStateException("token store down");
		}).run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThatException().isThrownBy(
					() -> client.get().uri(profile("/api/ok")).retrieve().bodyToMono(String.class).block(Duration.ofSeconds(5)));
			assertThat(problems("tis.resilience")).isEmpty();
		});
	}

	/** Cancelled during the backoff between two attempts: attempt 1 ended, the call cancelled, slot back. */
	@Test
	void callerCancelsDuringBackoff() {
		server.stubFor(get("/profile/api/fail").willReturn(aResponse().withStatus(503).withHeader("Retry-After", "1")));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2",
				"tis.resilience.services.profile.retry.max-backoff=2s").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThatException().isThrownBy(() -> client.get()
				.uri(profile("/api/fail"))
				.retrieve()
				.bodyToMono(String.class)
				.timeout(Duration.ofMillis(300))
				.block());
			ServiceGuard guard = context.getBean(ServiceGuardRegistry.class).guard("profile");
			await().atMost(Duration.ofSeconds(5)).until(() -> stopped("tis.resilience.call").size() == 1);
			assertThat(stopped("tis.resilience.call").get(0).getLowCardinalityKeyValue("outcome").getValue())
				.isEqualTo("cancelled");
			assertThat(problems("tis.resilience")).isEmpty();
			await().atMost(Duration.ofSeconds(5))
				.untilAsserted(() -> assertThat(guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(200));
			// Past the 1 s Retry-After, no second attempt goes out after the caller left.
			await().during(Duration.ofMillis(1500))
				.atMost(Duration.ofSeconds(3))
				.untilAsserted(() -> server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/fail"))));
		});
	}

	/** Full bulkhead, open breaker: the rejected calls are observed once each. */
	@Test
	void rejectedCallsObservedOnce() {
		server.stubFor(get("/profile/api/slow").willReturn(ok("slow").withFixedDelay(800)));
		this.runner.withPropertyValues("tis.resilience.services.profile.bulkhead.max-concurrent-calls=1").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			List<Mono<String>> calls = new ArrayList<>();
			for (int i = 0; i < 5; i++) {
				calls.add(client.get().uri(profile("/api/slow")).retrieve().bodyToMono(String.class)
					.onErrorResume((ex) -> Mono.just(ex.getClass().getSimpleName())));
			}
			List<String> answers = Flux.merge(calls).collectList().block(Duration.ofSeconds(10));
			assertThat(answers).contains("slow").contains("ServiceUnavailableException");
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			assertThatException().isThrownBy(() -> client.get().uri(profile("/api/slow")).retrieve().toBodilessEntity().block());
			await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(problems("tis.resilience")).isEmpty());
			assertThat(stopped("tis.resilience.call")).hasSize(6);
		});
	}


	/** Cancels timed around the moment the answer arrives: no observation stopped twice or left open. */
	@Test
	void cancelsRacingTheAnswerStopEachObservationOnce() {
		server.stubFor(get("/profile/api/ok").willReturn(ok("fine")));
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).baseUrl(server.baseUrl()).build();
			for (int round = 0; round < 4; round++) {
				Flux.range(0, 500)
					.flatMap((i) -> client.get()
						.uri("/profile/api/ok")
						.retrieve()
						.bodyToMono(String.class)
						.timeout(Duration.ofNanos(ThreadLocalRandom.current().nextLong(200_000, 4_000_000)))
						.onErrorResume((ex) -> Mono.just("gave up"))
						.subscribeOn(Schedulers.parallel()), 32)
					.blockLast(Duration.ofSeconds(60));
			}
			ServiceGuard guard = context.getBean(ServiceGuardRegistry.class).guard("profile");
			await().atMost(Duration.ofSeconds(10))
				.untilAsserted(() -> assertThat(guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(200));
			await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(problems("tis.resilience")).isEmpty());
		});
	}

}
