package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Mono;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.WebClientResponseException;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.ScriptedSocketServer;
import uk.nhs.hee.tis.resilience.autoconfigure.ScriptedSocketServer.Reply;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.UnansweredPort;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The fault matrix of the blocking clients, for WebClient as a user builds it (a bean, from Boot's
 * builder, an HTTP interface): against a real server on loopback, each call ends within its deadline
 * with the right outcome, and the server counts the right number of requests.
 */
@ExtendWith(OutputCaptureExtension.class)
class WebClientProtectedCallsTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer(wireMockConfig().containerThreads(30));

	private ScriptedSocketServer scripted;

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
				ReactiveHttpClientResilienceAutoConfiguration.class))
		.withBean("handBuiltWebClient", WebClient.class, () -> WebClient.builder().build())
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.initial-backoff=10ms");

	@AfterEach
	void stopScripted() throws IOException {
		if (this.scripted != null) {
			this.scripted.close();
		}
	}

	private static String profile(String path) {
		return server.baseUrl() + "/profile" + path;
	}

	/**
	 * The guard's exception in what the caller got. A body that fails after the headers reaches a
	 * {@code retrieve()} caller inside Spring's {@code WebClientResponseException}, which WebClient wraps
	 * around any body error: the guard's exception is its cause.
	 */
	private static ServiceUnavailableException unavailable(Throwable thrown) {
		for (Throwable t = thrown; t != null; t = t.getCause()) {
			if (t instanceof ServiceUnavailableException unavailable) {
				return unavailable;
			}
		}
		throw new AssertionError("no ServiceUnavailableException in " + thrown, thrown);
	}

	private static Duration timed(Runnable call) {
		long start = System.nanoTime();
		call.run();
		return Duration.ofNanos(System.nanoTime() - start);
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void endsACallToAServerThatNeverAnswersAtTheDeadlineAndSendsItOnce(WebClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(15_000)));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=3").run((context) -> {
			WebClientKind.Client client = kind.create(context);
			Duration took = timed(() -> assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> client.get(profile("/api/userinfo")))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT))
				.satisfies((ex) -> assertThat(ex.service()).isEqualTo("profile")));
			assertThat(took).isLessThan(Duration.ofSeconds(4));
			server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void endsAConnectionNeverAnsweredAtTheServicesConnectTimeoutNotItsResponseTimeout(WebClientKind kind)
			throws IOException {
		try (UnansweredPort cutOff = new UnansweredPort()) {
			this.runner
				.withPropertyValues("tis.resilience.services.profile.url=" + cutOff.url(),
						"tis.resilience.services.profile.connect-timeout=300ms",
						"tis.resilience.services.profile.response-timeout=8s",
						"tis.resilience.services.profile.retry.max-attempts=1")
				.run((context) -> {
					WebClientKind.Client client = kind.create(context);
					Duration took = timed(() -> assertThatThrownBy(() -> client.get(cutOff.url() + "/api/userinfo"))
						.satisfies((ex) -> assertThat(unavailable(ex).reason()).isEqualTo(Reason.CONNECT_FAILURE))
						.hasStackTraceContaining("within the service's connect-timeout (300 ms)"));
					// Boot's connector would wait 30 s, and the response-timeout 8 s.
					assertThat(took).isLessThan(Duration.ofSeconds(4));
				});
		}
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void followsARedirectAsBootsConnectorDoesWithoutCountingAFailure(WebClientKind kind) {
		server.stubFor(get("/profile/api/moved").willReturn(aResponse().withStatus(302)
			.withHeader("Location", server.baseUrl() + "/profile/api/moved-here")));
		server.stubFor(get("/profile/api/moved-here").willReturn(ok("moved")));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=3").run((context) -> {
			WebClientKind.Client client = kind.create(context);
			assertThat(client.get(profile("/api/moved"))).isEqualTo("moved");
			server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/moved")));
			server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/moved-here")));
			assertThat(context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().getMetrics()
				.getNumberOfFailedCalls()).isZero();
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void neverSendsAPostAgainWhoseRedirectLedToARefusedConnection(WebClientKind kind) throws IOException {
		String refused;
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
			refused = "http://127.0.0.1:" + socket.getLocalPort();
		}
		server.stubFor(post("/profile/api/orders").willReturn(aResponse().withStatus(307)
			.withHeader("Location", refused + "/api/orders")));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=3").run((context) -> {
			WebClientKind.Client client = kind.create(context);
			assertThatThrownBy(() -> client.post(profile("/api/orders"), "one order"))
				.satisfies((ex) -> assertThat(unavailable(ex).reason()).isEqualTo(Reason.CONNECT_FAILURE));
			// The first server had the POST: a connection refused after its redirect is not a request never sent.
			server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/orders")));
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void cutsABodyDribbledPastTheDeadlineAndCountsIt(WebClientKind kind, CapturedOutput output) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("abcdefghijklmnopqrst").withChunkedDribbleDelay(20, 15_000)));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=1").run((context) -> {
			WebClientKind.Client client = kind.create(context);
			Duration took = timed(() -> assertThatThrownBy(() -> client.get(profile("/api/userinfo")))
				.satisfies((ex) -> assertThat(unavailable(ex).reason()).isEqualTo(Reason.TIMEOUT)));
			assertThat(took).isLessThan(Duration.ofSeconds(4));
			CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
			assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
			assertThat(context.getBean(ServiceGuardRegistry.class)
				.guard("profile")
				.bulkhead()
				.getMetrics()
				.getAvailableConcurrentCalls()).isEqualTo(25);
			// WebClient reads a failed body again to describe it: that second read is not an ERROR in the log.
			assertThat(output).doesNotContain("onErrorDropped").doesNotContain("Rejecting additional inbound receiver");
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void startsNoRetryOnceTheCallHasTakenItsResponseTimeout(WebClientKind kind) {
		// Each 503 comes late: the first attempt ends at 600 ms and is retried; the second ends past the call's
		// first second, so no third starts, whatever max-attempts allows (decision 0028).
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable().withFixedDelay(600)));
		this.runner.withPropertyValues("tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=5").run((context) -> {
					WebClientKind.Client client = kind.create(context);
					assertThatThrownBy(() -> client.get(profile("/api/userinfo"))).isNotNull();
					server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
				});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void retriesAGetThatGot503AndAnswersWithTheSecondResponse(WebClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").inScenario("flaky").whenScenarioStateIs(STARTED)
			.willReturn(serviceUnavailable()).willSetStateTo("healed"));
		server.stubFor(get("/profile/api/userinfo").inScenario("flaky").whenScenarioStateIs("healed")
			.willReturn(ok("me")));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2").run((context) -> {
			assertThat(kind.create(context).get(profile("/api/userinfo"))).isEqualTo("me");
			server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
			CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
			assertThat(breaker.getMetrics().getNumberOfSuccessfulCalls()).isEqualTo(1);
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void handsOverA503ThatIsNotRetriedAsTheClientsOwnErrorNamingTheService(WebClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=1").run((context) -> {
			assertThatExceptionOfType(WebClientResponseException.ServiceUnavailable.class)
				.isThrownBy(() -> kind.create(context).get(profile("/api/userinfo")))
				.satisfies((ex) -> assertThat(ex.getHeaders().getFirst(ServiceUnavailableException.SERVICE_HEADER))
					.startsWith("profile"));
			server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
			assertThat(context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().getMetrics()
				.getNumberOfFailedCalls()).isEqualTo(1);
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void waitsAsLongAsRetryAfterSaysBeforeRetryingA429(WebClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").inScenario("throttled").whenScenarioStateIs(STARTED)
			.willReturn(aResponse().withStatus(429).withHeader("Retry-After", "1")).willSetStateTo("ok"));
		server.stubFor(get("/profile/api/userinfo").inScenario("throttled").whenScenarioStateIs("ok").willReturn(ok("me")));
		// A retry must start within the call's first response-timeout, Retry-After included (decision 0028).
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2",
				"tis.resilience.services.profile.response-timeout=2s").run((context) -> {
			Duration took = timed(() -> assertThat(kind.create(context).get(profile("/api/userinfo"))).isEqualTo("me"));
			assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(950));
			server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void retriesA408AsTheBlockingClientsDo(WebClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").inScenario("408").whenScenarioStateIs(STARTED)
			.willReturn(aResponse().withStatus(408)).willSetStateTo("ok"));
		server.stubFor(get("/profile/api/userinfo").inScenario("408").whenScenarioStateIs("ok").willReturn(ok("me")));
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2").run((context) -> {
			assertThat(kind.create(context).get(profile("/api/userinfo"))).isEqualTo("me");
			server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void cutsTheStalledBodyOfAFailureItRetriesAtTheDeadline(WebClientKind kind) throws Exception {
		this.scripted = new ScriptedSocketServer((n) -> Reply.stalledBody(503, 100, 4));
		this.runner.withPropertyValues("tis.resilience.services.stalled.url=" + this.scripted.url("/stalled"),
				"tis.resilience.services.stalled.response-timeout=500ms",
				"tis.resilience.services.stalled.retry.max-attempts=3",
				"tis.resilience.services.stalled.retry.initial-backoff=10ms").run((context) -> {
					Duration took = timed(() -> assertThatThrownBy(() -> kind.create(context).get(this.scripted.url("/stalled/api")))
						.isNotNull());
					assertThat(took).isLessThan(Duration.ofSeconds(4));
					// The first failure's stalled body is cut at its deadline and the request retried; the second ends
					// past the call's first response-timeout, so no third is started (decision 0028).
					assertThat(this.scripted.requests()).hasSize(2);
					org.awaitility.Awaitility.await().untilAsserted(() -> assertThat(context.getBean(ServiceGuardRegistry.class)
						.guard("stalled").bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(25));
				});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void givesBackTheSlotOfAResponseWhoseBodyIsNeverReadAtTheDeadline(WebClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner.withPropertyValues("tis.resilience.services.profile.bulkhead.max-concurrent-calls=2",
				"tis.resilience.services.profile.response-timeout=500ms").run((context) -> {
					WebClient client = context.getBean(WebClient.Builder.class).build();
					for (int i = 0; i < 2; i++) {
						// The body is never subscribed to: a misuse, but it must not hold the service's slots.
						client.get().uri(profile("/api/userinfo")).retrieve().toEntityFlux(String.class)
							.map((entity) -> entity.getStatusCode().value()).block(Duration.ofSeconds(5));
					}
					org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> assertThat(
							context.getBean(ServiceGuardRegistry.class).guard("profile").bulkhead().getMetrics()
								.getAvailableConcurrentCalls()).isEqualTo(2));
					assertThat(kind.create(context).get(profile("/api/userinfo"))).isEqualTo("me");
				});
	}

	static Stream<Arguments> postFaults() {
		List<Arguments> arguments = new ArrayList<>();
		for (WebClientKind kind : WebClientKind.values()) {
			arguments.add(Arguments.of(kind, "503"));
			arguments.add(Arguments.of(kind, "connection reset"));
			arguments.add(Arguments.of(kind, "timeout"));
		}
		return arguments.stream();
	}

	@ParameterizedTest(name = "{0} {1}")
	@MethodSource("postFaults")
	void neverSendsAPostTwiceOnceItReachedTheServer(WebClientKind kind, String fault) {
		switch (fault) {
			case "503" -> server.stubFor(post("/profile/api/trainees").willReturn(serviceUnavailable()));
			case "connection reset" -> server
				.stubFor(post("/profile/api/trainees").willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
			default -> server.stubFor(post("/profile/api/trainees").willReturn(ok().withFixedDelay(5_000)));
		}
		this.runner.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=3").run((context) -> {
			assertThatThrownBy(() -> kind.create(context).post(profile("/api/trainees"), "{\"name\":\"x\"}")).isNotNull();
			server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/trainees")));
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void retriesAPostWhoseConnectionWasRefused(WebClientKind kind) throws IOException {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			closedPort = socket.getLocalPort();
		}
		String url = "http://127.0.0.1:" + closedPort;
		this.runner.withPropertyValues("tis.resilience.services.closed.url=" + url,
				"tis.resilience.services.closed.retry.max-attempts=3",
				"tis.resilience.services.closed.retry.initial-backoff=10ms").run((context) -> {
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> kind.create(context).post(url + "/api/trainees", "{}"))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE))
						.satisfies((ex) -> assertThat(ex.service()).isEqualTo("closed"));
				});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void endsACallToAHostThatDoesNotResolveWithinTheDeadline(WebClientKind kind) {
		// Whether the resolver answers "no such host" (CONNECT_FAILURE) or not at all before the deadline
		// (TIMEOUT) depends on the machine's DNS; either way the call ends by its deadline.
		this.runner.withPropertyValues("tis.resilience.defaults.response-timeout=2s").run((context) -> {
			Duration took = timed(() -> assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> kind.create(context).get("http://no-such-host.invalid/api"))
				.satisfies((ex) -> assertThat(ex.reason()).isIn(Reason.CONNECT_FAILURE, Reason.TIMEOUT)));
			assertThat(took).isLessThan(Duration.ofSeconds(4));
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void reportsABodyThatBrokeOffAsTheServiceFailing(WebClientKind kind) throws Exception {
		this.scripted = new ScriptedSocketServer((n) -> Reply.brokenOff(1000, 100));
		this.runner.withPropertyValues("tis.resilience.services.broken.url=" + this.scripted.url("/broken"),
				"tis.resilience.services.broken.retry.max-attempts=1").run((context) -> {
					assertThatThrownBy(() -> kind.create(context).get(this.scripted.url("/broken/api")))
						.satisfies((ex) -> assertThat(unavailable(ex).reason()).isEqualTo(Reason.SERVER_ERROR))
						.satisfies((ex) -> assertThat(unavailable(ex).service()).isEqualTo("broken"))
						.satisfies((ex) -> assertThat(unavailable(ex)).hasMessageContaining("the response broke off"));
					assertThat(context.getBean(ServiceGuardRegistry.class).guard("broken").circuitBreaker().getMetrics()
						.getNumberOfFailedCalls()).isEqualTo(1);
				});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void decidesOnARetrysAnswerOnceNeverSendingMoreThanMaxAttempts(WebClientKind kind) throws Exception {
		// A reset, then 503s: the second attempt's 503 is the last word with max-attempts 2.
		this.scripted = new ScriptedSocketServer((n) -> (n == 1) ? Reply.resetBeforeResponse() : Reply.status(503, ""));
		this.runner.withPropertyValues("tis.resilience.services.retried.url=" + this.scripted.url("/retried"),
				"tis.resilience.services.retried.retry.max-attempts=2").run((context) -> {
					assertThatThrownBy(() -> kind.create(context).get(this.scripted.url("/retried/api")));
					assertThat(this.scripted.requests()).hasSize(2);
					assertThat(context.getBean(ServiceGuardRegistry.class).guard("retried").circuitBreaker().getMetrics()
						.getNumberOfBufferedCalls()).isEqualTo(1);
				});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void sendsAGetResetBeforeAnAnswerExactlyMaxAttemptsTimes(WebClientKind kind) throws Exception {
		for (int maxAttempts : new int[] { 1, 2 }) {
			this.scripted = new ScriptedSocketServer((n) -> Reply.resetBeforeResponse());
			this.runner.withPropertyValues("tis.resilience.services.reset.url=" + this.scripted.url("/reset"),
					"tis.resilience.services.reset.retry.max-attempts=" + maxAttempts).run((context) -> {
						assertThatExceptionOfType(ServiceUnavailableException.class)
							.isThrownBy(() -> kind.create(context).get(this.scripted.url("/reset/api")))
							.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR));
						assertThat(this.scripted.requests()).as("max-attempts %d", maxAttempts).hasSize(maxAttempts);
					});
			this.scripted.close();
		}
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void rejectsACallWithoutIoWhileTheBreakerIsOpen(WebClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner.run((context) -> {
			WebClientKind.Client client = kind.create(context);
			client.get(profile("/api/userinfo"));
			server.resetRequests();
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> client.get(profile("/api/userinfo")))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN));
			assertThat(server.getAllServeEvents()).isEmpty();
		});
	}

	@ParameterizedTest
	@EnumSource(WebClientKind.class)
	void rejectsACallAtOnceWhenTheBulkheadIsFull(WebClientKind kind) throws Exception {
		server.stubFor(get("/profile/api/slow").willReturn(ok("slow").withFixedDelay(800)));
		// A wait for a slot is set, as a blocking client may want: a WebClient call is still rejected at once.
		this.runner.withPropertyValues("tis.resilience.services.profile.bulkhead.max-concurrent-calls=1",
				"tis.resilience.services.profile.bulkhead.max-wait-duration=2s").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			CountDownLatch started = new CountDownLatch(1);
			Mono<String> first = client.get().uri(profile("/api/slow")).retrieve().bodyToMono(String.class);
			var held = first.doOnSubscribe((subscription) -> started.countDown()).toFuture();
			started.await();
			// Give the first call its slot before the second one asks.
			org.awaitility.Awaitility.await().until(() -> context.getBean(ServiceGuardRegistry.class)
				.guard("profile").bulkhead().getMetrics().getAvailableConcurrentCalls() == 0);
			Duration took = timed(() -> assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> kind.create(context).get(profile("/api/slow")))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.BULKHEAD_FULL)));
			assertThat(took).isLessThan(Duration.ofMillis(500));
			assertThat(held.get()).isEqualTo("slow");
		});
	}

	@org.junit.jupiter.api.Test
	void keepsCopiesSilentlyForAWebClientFromBootsBuilder(CapturedOutput output) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner.withPropertyValues("tis.resilience.services.profile.stale-if-error=1m").run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).build();
			for (int i = 0; i < 3; i++) {
				assertThat(client.get().uri(profile("/api/userinfo")).retrieve().bodyToMono(String.class).block())
					.isEqualTo("me");
			}
			assertThat(output).doesNotContain("event=stale_if_error_not_kept");
		});
	}

}
