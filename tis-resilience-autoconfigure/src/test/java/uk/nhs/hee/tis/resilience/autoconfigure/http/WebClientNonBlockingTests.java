package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.time.Duration;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.blockhound.BlockHound;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.UnansweredPort;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * No blocking call on a Reactor thread anywhere on the protected WebClient path: BlockHound is installed
 * in this JVM (its own surefire run) and fails any blocking call made on a non-blocking thread. The calls
 * are subscribed on Reactor's parallel scheduler, a non-blocking thread, and go through admission,
 * retries with backoff, a deadline, an open breaker and a full bulkhead.
 */
class WebClientNonBlockingTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
				ReactiveHttpClientResilienceAutoConfiguration.class))
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=3",
				"tis.resilience.services.profile.retry.initial-backoff=20ms");

	@BeforeAll
	static void installBlockHound() {
		// Resilience4j's count-based breaker window takes a ReentrantLock around an in-memory update (no
		// I/O, a few instructions); under contention a thread can park for that long. Allowed there and
		// nowhere else, and written down in decision record 0021.
		BlockHound.install((builder) -> builder
			.allowBlockingCallsInside("io.github.resilience4j.core.metrics.FixedSizeSlidingWindowMetrics", "record")
			.allowBlockingCallsInside("io.github.resilience4j.core.metrics.FixedSizeSlidingWindowMetrics", "getSnapshot"));
	}

	private static Mono<String> onAReactorThread(WebClient client, String path) {
		return Mono.defer(() -> client.get().uri(server.baseUrl() + "/profile" + path).retrieve().bodyToMono(String.class))
			.subscribeOn(Schedulers.parallel());
	}

	@Test
	void blocksNoReactorThreadToDetectABlockingCallItself() {
		// The guard against a test that cannot fail: BlockHound is really watching.
		assertThatThrownBy(() -> Mono.fromCallable(() -> {
			Thread.sleep(1);
			return "slept";
		}).subscribeOn(Schedulers.parallel()).block(Duration.ofSeconds(5))).hasMessageContaining("Blocking call");
	}

	@Test
	void retriesWithBackoffWithoutBlocking() {
		server.stubFor(get("/profile/api/flaky").inScenario("flaky").whenScenarioStateIs(STARTED)
			.willReturn(serviceUnavailable()).willSetStateTo("second"));
		server.stubFor(get("/profile/api/flaky").inScenario("flaky").whenScenarioStateIs("second")
			.willReturn(aResponse().withStatus(429).withHeader("Retry-After", "0")).willSetStateTo("ok"));
		server.stubFor(get("/profile/api/flaky").inScenario("flaky").whenScenarioStateIs("ok").willReturn(ok("me")));
		this.runner.run((context) -> assertThat(onAReactorThread(context.getBean(WebClient.Builder.class).build(),
				"/api/flaky").block(Duration.ofSeconds(10))).isEqualTo("me"));
	}

	@Test
	void endsAtTheDeadlineAndRejectsWhileOpenWithoutBlocking() {
		server.stubFor(get("/profile/api/slow").willReturn(ok("abcdefghij").withChunkedDribbleDelay(10, 5_000)));
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThatThrownBy(() -> onAReactorThread(client, "/api/slow").block(Duration.ofSeconds(10)))
				.satisfies((ex) -> assertThat(ex).hasRootCauseInstanceOf(java.util.concurrent.TimeoutException.class));
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			assertThatThrownBy(() -> onAReactorThread(client, "/api/slow").block(Duration.ofSeconds(5)))
				.isInstanceOfSatisfying(ServiceUnavailableException.class,
						(ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN));
		});
	}

	@Test
	void runsManyCallsAtOnceThroughABulkheadWithoutBlocking() {
		server.stubFor(get("/profile/api/me").willReturn(ok("me").withFixedDelay(200)));
		this.runner.withPropertyValues("tis.resilience.services.profile.bulkhead.max-concurrent-calls=2",
				"tis.resilience.services.profile.response-timeout=5s").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			var outcomes = Flux.range(0, 6)
				.flatMap((i) -> onAReactorThread(client, "/api/me")
					.onErrorResume(ServiceUnavailableException.class, (ex) -> Mono.just(ex.reason().name())))
				.collectList()
				.block(Duration.ofSeconds(10));
			assertThat(outcomes).contains("me", "BULKHEAD_FULL").hasSize(6);
		});
	}

	@Test
	void endsAConnectionNeverAnsweredAtTheConnectTimeoutWithoutBlocking() throws java.io.IOException {
		try (UnansweredPort cutOff = new UnansweredPort()) {
			this.runner.withPropertyValues("tis.resilience.services.cut-off.url=" + cutOff.url(),
					"tis.resilience.services.cut-off.connect-timeout=200ms",
					"tis.resilience.services.cut-off.retry.max-attempts=2").run((context) -> {
						WebClient client = context.getBean(WebClient.Builder.class).build();
						// A POST whose connection was never made is sent again: both attempts time out connecting.
						assertThatThrownBy(() -> Mono.defer(() -> client.post().uri(cutOff.url() + "/api/posts").bodyValue("x")
							.retrieve().bodyToMono(String.class)).subscribeOn(Schedulers.parallel()).block(Duration.ofSeconds(10)))
							.isInstanceOfSatisfying(ServiceUnavailableException.class,
									(ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE))
							.hasStackTraceContaining("connect-timeout (200 ms)");
					});
		}
	}

	@Test
	void keepsAndServesStaleCopiesAndProbesWithoutBlocking() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner.withPropertyValues("tis.resilience.services.profile.stale-if-error=1m").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			assertThat(onAReactorThread(client, "/api/userinfo").block(Duration.ofSeconds(5))).isEqualTo("me");
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			// Served in place of the failure answer, then in place of the open breaker's rejection (after a probe).
			assertThat(onAReactorThread(client, "/api/userinfo").block(Duration.ofSeconds(5))).isEqualTo("me");
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			assertThat(onAReactorThread(client, "/api/userinfo").block(Duration.ofSeconds(5))).isEqualTo("me");
		});
	}

}
