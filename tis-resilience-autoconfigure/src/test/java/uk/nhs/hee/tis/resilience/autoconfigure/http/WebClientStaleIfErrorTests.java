package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.time.Duration;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.awaitility.Awaitility.await;

/**
 * stale-if-error for WebClient: each caller's last good GET answer, served to that caller only, marked
 * stale, while the service fails, keyed by what the request carried on the wire after every filter (a
 * token relayed by a filter after the starter's included), and while the breaker is open with nothing
 * sent. Counted on the server.
 */
@ExtendWith(OutputCaptureExtension.class)
class WebClientStaleIfErrorTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	/** A team's token relay, after the starter's filter: each user's own token, from the request. */
	private static final ExchangeFilterFunction TOKEN_RELAY = (request, next) -> next.exchange(ClientRequest.from(request)
		.headers((headers) -> request.attribute("user")
			.ifPresent((user) -> headers.setBearerAuth(user + "-token")))
		.build());

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
				ReactiveHttpClientResilienceAutoConfiguration.class))
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=2s",
				"tis.resilience.services.profile.retry.max-attempts=1",
				"tis.resilience.services.profile.stale-if-error=1m");

	private static WebClient relaying(AssertableApplicationContext context) {
		return context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).build();
	}

	private static ResponseEntity<String> userinfo(WebClient client, String user) {
		return client.get()
			.uri(server.baseUrl() + "/profile/api/userinfo")
			.attribute("user", user)
			.retrieve()
			.toEntity(String.class)
			.block(Duration.ofSeconds(10));
	}

	private static void profileAnswersEachUser(String... users) {
		for (String user : users) {
			server.stubFor(get("/profile/api/userinfo").withHeader(HttpHeaders.AUTHORIZATION, equalTo("Bearer " + user + "-token"))
				.willReturn(ok(user + "'s userinfo")));
		}
	}

	private static void profileFails() {
		server.stubFor(get(anyUrl()).willReturn(serviceUnavailable().withBody("down")).atPriority(1));
	}

	@Test
	void servesEachCallerTheirOwnLastAnswerMarkedStaleWhenALaterFilterRelaysTheToken() {
		profileAnswersEachUser("alice", "bob");
		this.runner.run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			assertThat(userinfo(client, "bob").getBody()).isEqualTo("bob's userinfo");
			profileFails();
			ResponseEntity<String> alice = userinfo(client, "alice");
			assertThat(alice.getBody()).isEqualTo("alice's userinfo");
			assertThat(alice.getHeaders().getFirst(HttpHeaders.WARNING)).startsWith("110");
			assertThat(userinfo(client, "bob").getBody()).isEqualTo("bob's userinfo");
			// Carol has no copy: she gets the failure, never someone else's answer.
			assertThatException().isThrownBy(() -> userinfo(client, "carol"))
				.satisfies((ex) -> assertThat(ex).hasMessageContaining("503"));
			server.verify(5, anyRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
		});
	}

	@Test
	void servesTheKeptCopyWhileTheBreakerIsOpenWithNothingSent() {
		profileAnswersEachUser("alice", "bob");
		this.runner.run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			assertThat(userinfo(client, "bob").getBody()).isEqualTo("bob's userinfo");
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			assertThat(userinfo(client, "bob").getBody()).isEqualTo("bob's userinfo");
			assertThatException().isThrownBy(() -> userinfo(client, "carol"))
				.satisfies((ex) -> assertThat(ex).isInstanceOf(ServiceUnavailableException.class));
			// The two good answers, and nothing while the breaker was open: no request, no probe on the wire.
			server.verify(2, anyRequestedFor(anyUrl()));
		});
	}

	@Test
	void keepsNeitherAFailureNorAnAnswerMarkedNoStore() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("private").withHeader("Cache-Control", "no-store")));
		this.runner.run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("private");
			profileFails();
			assertThatException().isThrownBy(() -> userinfo(client, "alice"));
			assertThatException().isThrownBy(() -> userinfo(client, "alice"));
		});
	}

	@Test
	void passesAnOversizedBodyOnWholeWithoutKeepingIt() {
		String large = "x".repeat(4_000);
		server.stubFor(get("/profile/api/userinfo").willReturn(ok(large)));
		this.runner.withPropertyValues("tis.resilience.stale-cache.max-body-size=1KB").run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo(large);
			profileFails();
			assertThatException().isThrownBy(() -> userinfo(client, "alice"));
		});
	}

	@Test
	void stopsServingTheCopyAfterTheWindow() {
		profileAnswersEachUser("alice");
		this.runner.withPropertyValues("tis.resilience.services.profile.stale-if-error=500ms").run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			profileFails();
			await().atMost(Duration.ofSeconds(5))
				.untilAsserted(() -> assertThatException().isThrownBy(() -> userinfo(client, "alice")));
		});
	}

	@Test
	void keepsCopiesForAWebClientBeanBuiltByHandOnBootsConnector() {
		profileAnswersEachUser("alice", "bob");
		this.runner.withBean("handBuiltWebClient", WebClient.class, () -> WebClient.builder().filter(TOKEN_RELAY).build())
			.run((context) -> {
				WebClient client = context.getBean("handBuiltWebClient", WebClient.class);
				assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
				assertThat(userinfo(client, "bob").getBody()).isEqualTo("bob's userinfo");
				context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
				assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
				assertThat(userinfo(client, "bob").getBody()).isEqualTo("bob's userinfo");
				server.verify(2, anyRequestedFor(anyUrl()));
			});
	}

	@Test
	void keepsNothingForAWebClientWithAConnectorOfItsOwnAndSaysSoOnce(CapturedOutput output) {
		profileAnswersEachUser("alice");
		this.runner.withBean("handBuiltWebClient", WebClient.class, () -> WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector())
			.filter(TOKEN_RELAY)
			.build())
			.run((context) -> {
				WebClient client = context.getBean("handBuiltWebClient", WebClient.class);
				assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
				assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
				assertThat(output).containsOnlyOnce("event=stale_if_error_not_kept service=profile client=WebClient");
				profileFails();
				assertThatException().isThrownBy(() -> userinfo(client, "alice"));
				context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
				assertThatException().isThrownBy(() -> userinfo(client, "alice"));
				// No probe went out through a connector that would really send it.
				server.verify(0, anyRequestedFor(urlPathEqualTo("/tis-resilience-probe/profile/api/userinfo")));
			});
	}

	private static void openBreaker(AssertableApplicationContext context) {
		context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
	}

	private static String answerOrFailure(WebClient client, String user) {
		try {
			return userinfo(client, user).getBody();
		}
		catch (RuntimeException ex) {
			return "failed";
		}
	}

	// The probe is the request as it is: a filter choosing the token by path gives it the token it gives the call.
	@Test
	void probesWithTheRequestAsItIsSoAPathSensitiveFilterKeysItAsTheCall() {
		ExchangeFilterFunction tokenByPath = (request, next) -> {
			boolean userApi = request.url().getPath().startsWith("/profile/api/");
			String token = request.attribute("user").filter((user) -> userApi).map((user) -> user + "-token")
				.orElse("system-token");
			return next.exchange(ClientRequest.from(request).headers((headers) -> headers.setBearerAuth(token)).build());
		};
		profileAnswersEachUser("alice", "carol", "system");
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(tokenByPath).build();
			assertThat(client.get().uri(server.baseUrl() + "/profile/api/userinfo").retrieve().bodyToMono(String.class).block())
				.isEqualTo("system's userinfo");
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			openBreaker(context);
			assertThat(answerOrFailure(client, "alice")).isEqualTo("alice's userinfo");
			assertThat(answerOrFailure(client, "carol")).isEqualTo("failed");
			server.verify(2, anyRequestedFor(anyUrl()));
		});
	}

	@Test
	void probesNothingOntoTheWireWhenALaterFilterPrefixesOrRewritesThePath() {
		server.stubFor(get("/gw/profile/api/userinfo").willReturn(ok("through the gateway")));
		ExchangeFilterFunction gateway = (request, next) -> next.exchange(ClientRequest.from(request)
			.url(org.springframework.web.util.UriComponentsBuilder.fromUri(request.url())
				.replacePath("/gw" + request.url().getRawPath())
				.build(true)
				.toUri())
			.build());
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(gateway).build();
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("through the gateway");
			openBreaker(context);
			assertThat(answerOrFailure(client, "alice")).isEqualTo("through the gateway");
			assertThat(answerOrFailure(client, "bob")).isEqualTo("failed");
			server.verify(1, anyRequestedFor(anyUrl()));
		});
	}

	// A client mutated onto a connector of its own shares the filter: its first probe is the one that can
	// reach the wire, and it turns probing off for good.
	@Test
	void letsAtMostOneProbeThroughAClientMutatedOntoAConnectorOfItsOwn(CapturedOutput output) {
		profileAnswersEachUser("alice");
		this.runner.run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			WebClient own = client.mutate().clientConnector(new ReactorClientHttpConnector()).build();
			openBreaker(context);
			for (int i = 0; i < 5; i++) {
				answerOrFailure(own, "alice");
			}
			server.verify(2, anyRequestedFor(anyUrl()));
			assertThat(output).containsOnlyOnce("event=stale_if_error_not_kept service=profile");
		});
	}

	@Test
	void endsAProbeStuckInASlowFilterByTheDeadline() {
		profileAnswersEachUser("alice");
		java.util.concurrent.atomic.AtomicBoolean slow = new java.util.concurrent.atomic.AtomicBoolean();
		ExchangeFilterFunction slowTokenServer = (request, next) -> slow.get()
				? reactor.core.publisher.Mono.delay(Duration.ofSeconds(8)).then(next.exchange(request)) : next.exchange(request);
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(slowTokenServer).build();
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			openBreaker(context);
			slow.set(true);
			long started = System.nanoTime();
			assertThat(answerOrFailure(client, "alice")).isEqualTo("failed");
			// The service's response-timeout is 2 s.
			assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
		});
	}

	@Test
	void runsNoProbeInsideAProbeWhenALaterFilterCallsTheSameService() {
		profileAnswersEachUser("alice");
		server.stubFor(get("/profile/csrf").willReturn(ok("t1")));
		java.util.concurrent.atomic.AtomicReference<WebClient> self = new java.util.concurrent.atomic.AtomicReference<>();
		java.util.concurrent.atomic.AtomicInteger nested = new java.util.concurrent.atomic.AtomicInteger();
		ExchangeFilterFunction csrf = (request, next) -> {
			if (request.url().getPath().equals("/profile/csrf")) {
				return next.exchange(request);
			}
			if (nested.incrementAndGet() > 20) {
				return reactor.core.publisher.Mono.error(new IllegalStateException("runaway nesting"));
			}
			return self.get()
				.get()
				.uri(server.baseUrl() + "/profile/csrf")
				.retrieve()
				.bodyToMono(String.class)
				.flatMap((token) -> next.exchange(ClientRequest.from(request).header("X-CSRF", token).build()));
		};
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(csrf).build();
			self.set(client);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("alice's userinfo");
			nested.set(0);
			openBreaker(context);
			answerOrFailure(client, "alice");
			assertThat(nested.get()).isLessThanOrEqualTo(2);
			server.verify(2, anyRequestedFor(anyUrl()));
		});
	}

	@Test
	void forgetsTheCopyOnceTheServiceAnswersForbiddenAndNeverReplaysASetCookie() {
		server.stubFor(get("/profile/api/userinfo")
			.willReturn(ok("alice's userinfo").withHeader(HttpHeaders.SET_COOKIE, "session=alice")));
		this.runner.run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getHeaders().getFirst(HttpHeaders.SET_COOKIE)).isEqualTo("session=alice");
			profileFails();
			ResponseEntity<String> stale = userinfo(client, "alice");
			assertThat(stale.getBody()).isEqualTo("alice's userinfo");
			assertThat(stale.getHeaders().containsHeader(HttpHeaders.SET_COOKIE)).isFalse();
			server.resetAll();
			server.stubFor(get("/profile/api/userinfo").willReturn(com.github.tomakehurst.wiremock.client.WireMock.forbidden()));
			assertThat(answerOrFailure(client, "alice")).isEqualTo("failed");
			profileFails();
			assertThat(answerOrFailure(client, "alice")).isEqualTo("failed");
		});
	}

	@Test
	void neverReplacesAGoodCopyWithAWholeButMalformedJsonAnswer() {
		server.stubFor(get("/profile/api/userinfo").willReturn(okJson("{\"userName\":\"alice\"}")));
		this.runner.run((context) -> {
			WebClient client = relaying(context);
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("{\"userName\":\"alice\"}");
			server.stubFor(get("/profile/api/userinfo").willReturn(okJson("{\"userName\":\"al")));
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("{\"userName\":\"al");
			profileFails();
			assertThat(userinfo(client, "alice").getBody()).isEqualTo("{\"userName\":\"alice\"}");
		});
	}

}
