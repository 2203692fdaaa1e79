package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.http.HttpHeaders;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The probe that learns, while the breaker is open, what a WebClient request would carry on the wire: with
 * filters that lose the Reactor context, make calls of their own, read the user from an attribute, the
 * Reactor context, a ThreadLocal or the query, many users at once: each user is served only their own
 * copy, and no request reaches the service while its breaker is open (counted on the server).
 */
@ExtendWith(OutputCaptureExtension.class)
class WebClientStaleProbeTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer(
			com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig().containerThreads(60));

	private static final ExchangeFilterFunction TOKEN_RELAY = (request, next) -> next.exchange(ClientRequest.from(request)
		.headers((headers) -> request.attribute("user").ifPresent((user) -> headers.setBearerAuth(user + "-token")))
		.build());

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
				ReactiveHttpClientResilienceAutoConfiguration.class))
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=2s",
				"tis.resilience.services.profile.retry.max-attempts=1",
				"tis.resilience.services.profile.stale-if-error=1m",
				"tis.resilience.services.token.url=" + server.baseUrl() + "/token",
				"tis.resilience.services.token.retry.max-attempts=1");

	private static ResponseOrFailure userinfo(WebClient client, String user) {
		try {
			return new ResponseOrFailure(client.get()
				.uri(server.baseUrl() + "/profile/api/userinfo")
				.attribute("user", user)
				.retrieve()
				.bodyToMono(String.class)
				.block(Duration.ofSeconds(10)), null);
		}
		catch (RuntimeException ex) {
			return new ResponseOrFailure("failed", ex);
		}
	}

	record ResponseOrFailure(String body, Throwable failure) {
	}

	private static void profileAnswersEachUser(String... users) {
		for (String user : users) {
			server.stubFor(get("/profile/api/userinfo")
				.withHeader(HttpHeaders.AUTHORIZATION, equalTo("Bearer " + user + "-token"))
				.willReturn(ok(user + "'s userinfo")));
		}
	}

	private static void openBreaker(AssertableApplicationContext context) {
		context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
	}

	private static int onWire() {
		return server.getAllServeEvents().size();
	}

	private void runWithFilter(String name, ExchangeFilterFunction later, int expectedOnWire) {
		server.resetAll();
		profileAnswersEachUser("alice", "bob");
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(later).build();
			assertThat(userinfo(client, "alice").body()).isEqualTo("alice's userinfo");
			assertThat(userinfo(client, "bob").body()).isEqualTo("bob's userinfo");
			openBreaker(context);
			List<String> got = new ArrayList<>();
			for (int i = 0; i < 3; i++) {
				got.add(userinfo(client, "alice").body());
				got.add(userinfo(client, "bob").body());
				got.add(userinfo(client, "carol").body());
			}
			assertThat(got).as(name).containsExactly("alice's userinfo", "bob's userinfo", "failed",
					"alice's userinfo", "bob's userinfo", "failed", "alice's userinfo", "bob's userinfo", "failed");
			assertThat(onWire()).as(name + " on wire").isEqualTo(expectedOnWire);
		});
	}

	// 1. Filters that lose or replace the Reactor context.
	@Test
	void futureRoundTrip() {
		runWithFilter("future", (r, next) -> Mono.defer(() -> Mono.fromFuture(next.exchange(r).toFuture())), 2);
	}

	@Test
	void contextEmptied() {
		runWithFilter("contextEmpty", (r, next) -> next.exchange(r).contextWrite((ctx) -> Context.empty()), 2);
	}

	@Test
	void contextReplaced() {
		runWithFilter("contextOf", (r, next) -> next.exchange(r).contextWrite((ctx) -> Context.of("x", "y")), 2);
	}

	@Test
	void subscribeOnPublishOnDefer() {
		runWithFilter("schedulers", (r, next) -> Mono.defer(() -> next.exchange(r))
			.subscribeOn(Schedulers.boundedElastic())
			.publishOn(Schedulers.parallel()), 2);
	}

	@Test
	void subscribedInsideAnotherSubscribe() {
		// A filter bridging through a Sink subscribed in a fresh chain: loses the context.
		runWithFilter("sink", (r, next) -> Mono.create((sink) -> next.exchange(r).subscribe(sink::success, sink::error)), 2);
	}

	// Context-losing filter, the service hung (timeouts): does every call while open reach the wire?
	@Test
	void contextLosingFilterAgainstAHungService(CapturedOutput output) {
		server.resetAll();
		profileAnswersEachUser("alice");
		ExchangeFilterFunction lose = (r, next) -> next.exchange(r).contextWrite((ctx) -> Context.empty());
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(lose).build();
			assertThat(userinfo(client, "alice").body()).isEqualTo("alice's userinfo");
			server.stubFor(get(anyUrl()).willReturn(ok("late").withFixedDelay(4000)).atPriority(1));
			openBreaker(context);
			List<String> got = new ArrayList<>();
			for (int i = 0; i < 4; i++) {
				got.add(userinfo(client, "alice").body());
			}
			assertThat(onWire()).as("requests reaching a hung service while its breaker is open").isLessThanOrEqualTo(2);
		});
	}

	// Context-losing filter, 30 users at once while open: how many reach the wire?
	@Test
	void contextLosingFilterConcurrentUsers() {
		server.resetAll();
		List<String> users = new ArrayList<>();
		for (int i = 0; i < 30; i++) {
			users.add("u" + i);
		}
		profileAnswersEachUser(users.toArray(String[]::new));
		ExchangeFilterFunction lose = (r, next) -> next.exchange(r).contextWrite((ctx) -> Context.empty());
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(lose).build();
			for (String u : users) {
				assertThat(userinfo(client, u).body()).isEqualTo(u + "'s userinfo");
			}
			server.stubFor(get(anyUrl()).willReturn(serviceUnavailable().withFixedDelay(500)).atPriority(1));
			int before = onWire();
			openBreaker(context);
			List<String> got = Flux.fromIterable(users)
				.flatMap((u) -> Mono.fromCallable(() -> userinfo(client, u).body()).subscribeOn(Schedulers.boundedElastic()), 30)
				.collectList()
				.block(Duration.ofSeconds(30));
			assertThat(onWire() - before).as("probes on the wire with the breaker open").isLessThanOrEqualTo(1);
		});
	}

	// 2. A later filter fetching a token: through the same client, through Boot's builder, through WebClient.create().
	private void tokenFetch(String name, Function<AssertableApplicationContext, WebClient> tokenClientOf) {
		server.resetAll();
		profileAnswersEachUser("alice");
		server.stubFor(post("/token/oauth").willReturn(ok("alice")));
		AtomicReference<WebClient> tokenClient = new AtomicReference<>();
		AtomicInteger fetchFailures = new AtomicInteger();
		List<String> fetchErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
		ExchangeFilterFunction oauth = (request, next) -> request.url().getPath().startsWith("/token") ? next.exchange(request) : tokenClient.get()
			.post()
			.uri(server.baseUrl() + "/token/oauth")
			.retrieve()
			.bodyToMono(String.class)
			.doOnError((ex) -> {
				fetchFailures.incrementAndGet();
				fetchErrors.add(ex.toString());
			})
			.flatMap((user) -> next.exchange(ClientRequest.from(request).headers((h) -> h.setBearerAuth(user + "-token")).build()));
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(oauth).build();
			tokenClient.set(tokenClientOf.apply(context) == null ? client : tokenClientOf.apply(context));
			assertThat(userinfo(client, "alice").body()).isEqualTo("alice's userinfo");
			openBreaker(context);
			int before = onWire();
			String got = userinfo(client, "alice").body();
			List<String> urls = server.getAllServeEvents().stream().map((e) -> e.getRequest().getMethod() + " " + e.getRequest().getUrl()).toList();
			server.verify(1, anyRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
			assertThat(got).as(name).isEqualTo("alice's userinfo");
		});
	}

	@Test
	void tokenThroughTheSameClient() {
		tokenFetch("same", (context) -> null);
	}

	@Test
	void tokenThroughBootsBuilder() {
		tokenFetch("boot", (context) -> context.getBean(WebClient.Builder.class).build());
	}

	@Test
	void tokenThroughWebClientCreate() {
		tokenFetch("create", (context) -> WebClient.create());
	}

	// 3. Per-user tokens from the Reactor context, concurrently.
	@Test
	void userFromReactorContextThirtyAtOnce() {
		server.resetAll();
		List<String> users = new ArrayList<>();
		for (int i = 0; i < 30; i++) {
			users.add("u" + i);
		}
		profileAnswersEachUser(users.toArray(String[]::new));
		ExchangeFilterFunction fromContext = (request, next) -> Mono.deferContextual((ctx) -> next.exchange(ClientRequest
			.from(request)
			.headers((h) -> ctx.<String>getOrEmpty("user").ifPresent((u) -> h.setBearerAuth(u + "-token")))
			.build()));
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(fromContext).build();
			Function<String, Mono<String>> call = (u) -> client.get()
				.uri(server.baseUrl() + "/profile/api/userinfo")
				.retrieve()
				.bodyToMono(String.class)
				.onErrorReturn("failed")
				.contextWrite(Context.of("user", u));
			for (String u : users) {
				assertThat(call.apply(u).block()).isEqualTo(u + "'s userinfo");
			}
			int before = onWire();
			openBreaker(context);
			for (int round = 0; round < 3; round++) {
				java.util.Map<String, String> got = new ConcurrentHashMap<>();
				Flux.fromIterable(users)
					.flatMap((u) -> call.apply(u).subscribeOn(Schedulers.boundedElastic()).doOnNext((b) -> got.put(u, b)), 30)
					.blockLast(Duration.ofSeconds(30));
				for (String u : users) {
					if (round == 0) {
						// Until a first probe has been answered without I/O, one runs at a time.
						assertThat(got.get(u)).as(u).isIn(u + "'s userinfo", "failed");
					}
					else {
						assertThat(got.get(u)).as(u).isEqualTo(u + "'s userinfo");
					}
				}
				String carol = call.apply("carol").block();
				assertThat(carol).isEqualTo("failed");
			}
			assertThat(onWire() - before).isZero();
		});
	}

	// 3. Per-user tokens from a request attribute, 30 at once, on boundedElastic and parallel mixed.
	@Test
	void userFromAttributeThirtyAtOnce() {
		server.resetAll();
		List<String> users = new ArrayList<>();
		for (int i = 0; i < 30; i++) {
			users.add("u" + i);
		}
		profileAnswersEachUser(users.toArray(String[]::new));
		ExchangeFilterFunction hop = (r, next) -> Mono.delay(Duration.ofMillis(5)).then(Mono.defer(() -> next.exchange(r)));
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(hop).build();
			for (String u : users) {
				assertThat(userinfo(client, u).body()).isEqualTo(u + "'s userinfo");
			}
			int before = onWire();
			openBreaker(context);
			for (int round = 0; round < 5; round++) {
				java.util.Map<String, String> got = new ConcurrentHashMap<>();
				Flux.fromIterable(users)
					.flatMap((u) -> client.get()
						.uri(server.baseUrl() + "/profile/api/userinfo")
						.attribute("user", u)
						.retrieve()
						.bodyToMono(String.class)
						.onErrorReturn("failed")
						.subscribeOn(Schedulers.parallel())
						.doOnNext((b) -> got.put(u, b)), 30)
					.blockLast(Duration.ofSeconds(30));
				for (String u : users) {
					if (round == 0) {
						// Until a first probe has been answered without I/O, one runs at a time: the others
						// meanwhile get the failure, never someone else's copy.
						assertThat(got.get(u)).as(u).isIn(u + "'s userinfo", "failed");
					}
					else {
						assertThat(got.get(u)).as(u).isEqualTo(u + "'s userinfo");
					}
				}
			}
			assertThat(onWire() - before).isZero();
		});
	}

	// 3. Token from the path/query.
	@Test
	void userFromQuery() {
		server.resetAll();
		server.stubFor(get(urlPathEqualTo("/profile/api/userinfo")).withQueryParam("u", equalTo("alice"))
			.withHeader(HttpHeaders.AUTHORIZATION, equalTo("Bearer alice-token")).willReturn(ok("alice's userinfo")));
		server.stubFor(get(urlPathEqualTo("/profile/api/userinfo")).withQueryParam("u", equalTo("bob"))
			.withHeader(HttpHeaders.AUTHORIZATION, equalTo("Bearer bob-token")).willReturn(ok("bob's userinfo")));
		ExchangeFilterFunction byQuery = (r, next) -> {
			String q = r.url().getQuery();
			String u = q.substring(q.indexOf('=') + 1);
			return next.exchange(ClientRequest.from(r).headers((h) -> h.setBearerAuth(u + "-token")).build());
		};
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(byQuery).build();
			Function<String, String> call = (u) -> client.get().uri(server.baseUrl() + "/profile/api/userinfo?u=" + u)
				.retrieve().bodyToMono(String.class).onErrorReturn("failed").block();
			assertThat(call.apply("alice")).isEqualTo("alice's userinfo");
			assertThat(call.apply("bob")).isEqualTo("bob's userinfo");
			openBreaker(context);
			assertThat(call.apply("alice")).isEqualTo("alice's userinfo");
			assertThat(call.apply("bob")).isEqualTo("bob's userinfo");
			assertThat(call.apply("carol")).isEqualTo("failed");
			assertThat(onWire()).isEqualTo(2);
		});
	}

	// 3. Token from a ThreadLocal, falling back to a system token when none is set (a common pattern). The
	// service refuses connections on the call (a later filter routes it to a closed port), so no request is
	// written and a probe runs on the event loop, where the caller's ThreadLocal is not set.
	private static final ThreadLocal<String> CURRENT_USER = new ThreadLocal<>();

	@Test
	void userFromThreadLocalProbeOnEventLoop() throws Exception {
		server.resetAll();
		profileAnswersEachUser("alice", "system");
		int closedPort;
		try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
			closedPort = s.getLocalPort();
		}
		java.util.concurrent.atomic.AtomicBoolean down = new java.util.concurrent.atomic.AtomicBoolean();
		List<String> threadsSeen = new java.util.concurrent.CopyOnWriteArrayList<>();
		ExchangeFilterFunction threadLocalToken = (r, next) -> {
			String u = CURRENT_USER.get();
			threadsSeen.add(Thread.currentThread().getName() + ":" + u);
			return next.exchange(ClientRequest.from(r).headers((h) -> h.setBearerAuth((u != null ? u : "system") + "-token")).build());
		};
		int port = closedPort;
		ExchangeFilterFunction outage = (r, next) -> next.exchange(down.get()
				? ClientRequest.from(r).url(org.springframework.web.util.UriComponentsBuilder.fromUri(r.url()).port(port).build(true).toUri()).build()
				: r);
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(threadLocalToken).filter(outage).build();
			Function<String, String> call = (u) -> {
				CURRENT_USER.set(u);
				try {
					return client.get().uri(server.baseUrl() + "/profile/api/userinfo").retrieve().bodyToMono(String.class)
						.onErrorReturn("failed").block();
				}
				finally {
					CURRENT_USER.remove();
				}
			};
			assertThat(call.apply(null)).isEqualTo("system's userinfo");
			assertThat(call.apply("alice")).isEqualTo("alice's userinfo");
			down.set(true);
			threadsSeen.clear();
			String carol = call.apply("carol");
			String alice = call.apply("alice");
			assertThat(carol).as("carol, who has no copy of her own").isEqualTo("failed");
		});
	}


	@Test
	void userFromThreadLocalBreakerOpen() {
		server.resetAll();
		profileAnswersEachUser("alice", "system");
		ExchangeFilterFunction threadLocalToken = (r, next) -> {
			String u = CURRENT_USER.get();
			return next.exchange(ClientRequest.from(r).headers((h) -> h.setBearerAuth((u != null ? u : "system") + "-token")).build());
		};
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(threadLocalToken).build();
			Function<String, String> call = (u) -> {
				CURRENT_USER.set(u);
				try {
					return client.get().uri(server.baseUrl() + "/profile/api/userinfo").retrieve().bodyToMono(String.class)
						.onErrorReturn("failed").block();
				}
				finally {
					CURRENT_USER.remove();
				}
			};
			assertThat(call.apply(null)).isEqualTo("system's userinfo");
			assertThat(call.apply("alice")).isEqualTo("alice's userinfo");
			openBreaker(context);
			String carol = call.apply("carol");
			String alice = call.apply("alice");
			assertThat(carol).isEqualTo("failed");
			assertThat(alice).isEqualTo("alice's userinfo");
			assertThat(onWire()).isEqualTo(2);
		});
	}

	// A later filter that turns a connection error into a synthetic 503 response (a common fallback).
	@Test
	void laterFilterTurningErrorsIntoAResponse(CapturedOutput output) {
		server.resetAll();
		profileAnswersEachUser("alice");
		ExchangeFilterFunction fallback = (r, next) -> next.exchange(r)
			.onErrorResume(org.springframework.web.reactive.function.client.WebClientRequestException.class,
					(ex) -> Mono.just(ClientResponse.create(org.springframework.http.HttpStatus.SERVICE_UNAVAILABLE).build()));
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(fallback).build();
			assertThat(userinfo(client, "alice").body()).isEqualTo("alice's userinfo");
			openBreaker(context);
			String first = userinfo(client, "alice").body();
			String second = userinfo(client, "alice").body();
			assertThat(first).isEqualTo("alice's userinfo");
			assertThat(second).isEqualTo("alice's userinfo");
		});
	}

	// Context lost once: probing is off for good, even after the breaker closes and opens again.
	@Test
	void probingStaysOffAfterRecovery(CapturedOutput output) {
		server.resetAll();
		profileAnswersEachUser("alice");
		java.util.concurrent.atomic.AtomicBoolean lose = new java.util.concurrent.atomic.AtomicBoolean(true);
		ExchangeFilterFunction sometimes = (r, next) -> lose.get()
				? next.exchange(r).contextWrite((ctx) -> Context.empty()) : next.exchange(r);
		this.runner.run((context) -> {
			WebClient client = context.getBean(WebClient.Builder.class).filter(TOKEN_RELAY).filter(sometimes).build();
			assertThat(userinfo(client, "alice").body()).isEqualTo("alice's userinfo");
			openBreaker(context);
			String during = userinfo(client, "alice").body();
			lose.set(false);
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToClosedState();
			assertThat(userinfo(client, "alice").body()).isEqualTo("alice's userinfo");
			openBreaker(context);
			String later = userinfo(client, "alice").body();
			assertThat(later).isEqualTo("alice's userinfo");
		});
	}

}
