package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real servlet resource server on loopback with 20 Tomcat threads, hit by bursts of tokens whose
 * key id it does not know while the stand-in Keycloak's key-set endpoint hangs or dribbles: no
 * request thread waits on the fetch, so every token is answered 401 at once and endpoints that need
 * no token keep answering.
 */
class KeySetFetchNeverBlocksRequestsTests {

	private static final String REALM = "/realms/tis";

	private static final String CERTS = REALM + "/protocol/openid-connect/certs";

	private static final int BURST = 50;

	@RegisterExtension
	static WireMockExtension keycloak = LoopbackFixtures.loopbackServer();

	private static final RSAKey KEY = generate("k1");

	private static final RSAKey STRANGER = generate("stranger");

	private final List<ConfigurableApplicationContext> apps = new ArrayList<>();

	private final ExecutorService clients = Executors.newFixedThreadPool(BURST + 1);

	private final HttpClient http = HttpClient.newBuilder()
		.version(HttpClient.Version.HTTP_1_1)
		.connectTimeout(Duration.ofSeconds(2))
		.build();

	@AfterEach
	void stop() {
		this.clients.shutdownNow();
		this.apps.forEach(ConfigurableApplicationContext::close);
	}

	private static RSAKey generate(String kid) {
		try {
			return new RSAKeyGenerator(2048).keyID(kid).generate();
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static String issuer() {
		return "http://127.0.0.1:" + keycloak.getPort() + REALM;
	}

	private static ResponseDefinitionBuilder keys() {
		return okJson(new JWKSet(KEY.toPublicJWK()).toString());
	}

	private static int fetchesOnTheWire() {
		return keycloak.findAll(getRequestedFor(urlPathEqualTo(CERTS))).size();
	}

	private static String token(RSAKey key, String kid) {
		try {
			SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(),
					new JWTClaimsSet.Builder().subject("ada")
						.issuer(issuer())
						.expirationTime(Date.from(Instant.now().plusSeconds(3600)))
						.build());
			jwt.sign(new RSASSASigner(key));
			return jwt.serialize();
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

	private ConfigurableApplicationContext start(String... extra) {
		List<String> args = new ArrayList<>(List.of("--server.port=0", "--server.address=127.0.0.1",
				"--server.tomcat.threads.max=20", "--spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer(),
				"--tis.resilience.jwt.connect-timeout=500ms", "--tis.resilience.jwt.read-timeout=2s"));
		args.addAll(List.of(extra));
		ConfigurableApplicationContext app = new SpringApplicationBuilder(ResourceServer.class)
			.run(args.toArray(String[]::new));
		this.apps.add(app);
		return app;
	}

	/** Sends one request and answers its status and how long it took, in nanoseconds. */
	private long[] call(ConfigurableApplicationContext app, String path, String token) throws Exception {
		int port = ((WebServerApplicationContext) app).getWebServer().getPort();
		HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
			.timeout(Duration.ofSeconds(10));
		if (token != null) {
			request.header("Authorization", "Bearer " + token);
		}
		long started = System.nanoTime();
		HttpResponse<Void> response = this.http.send(request.build(), HttpResponse.BodyHandlers.discarding());
		return new long[] { response.statusCode(), System.nanoTime() - started };
	}

	private static Duration percentile(List<Long> nanos, double fraction) {
		List<Long> sorted = new ArrayList<>(nanos);
		Collections.sort(sorted);
		int index = (int) Math.ceil(fraction * sorted.size()) - 1;
		return Duration.ofNanos(sorted.get(Math.max(0, index)));
	}

	@ParameterizedTest(name = "key-set endpoint {0}")
	@ValueSource(strings = { "hanging", "dribbling" })
	void answersEveryUnknownKeyIdAt401AtOnceAndKeepsOpenEndpointsFastWhileTheKeySetEndpointIsSlow(String fault)
			throws Exception {
		keycloak.stubFor(get(CERTS).willReturn(keys()));
		ConfigurableApplicationContext app = start("--tis.resilience.jwt.unknown-kid-cooldown=500ms");
		ResilientJwkSetSource source = app.getBean(ResilientJwkSetSource.class);
		String valid = token(KEY, "k1");
		// Warm the server up (threads, classes) with tokens it knows and the open endpoint, then with a
		// burst as wide as the measured one, half of it with unknown key ids (answered while the endpoint is
		// still healthy), so that Tomcat's 20 threads, the connections and the 401 path are warm.
		for (int i = 0; i < 20; i++) {
			assertThat(call(app, "/api/me", valid)[0]).isEqualTo(200);
			assertThat(call(app, "/api/status", null)[0]).isEqualTo(200);
		}
		CountDownLatch warm = new CountDownLatch(1);
		List<Future<long[]>> warmUp = new ArrayList<>();
		for (int i = 0; i < BURST; i++) {
			String token = (i % 2 == 0) ? valid : token(STRANGER, UUID.randomUUID().toString());
			warmUp.add(this.clients.submit(() -> {
				warm.await();
				return call(app, "/api/me", token);
			}));
		}
		warm.countDown();
		for (Future<long[]> answer : warmUp) {
			assertThat(answer.get(10, TimeUnit.SECONDS)[0]).isIn(200L, 401L);
		}
		// The measured burst must be free to ask for a fetch: let the unknown-kid cooldown pass.
		long warmedUp = System.nanoTime();
		await().atMost(Duration.ofSeconds(5))
			.until(() -> source.refreshNow() && System.nanoTime() - warmedUp > Duration.ofMillis(600).toNanos());
		int before = fetchesOnTheWire();
		keycloak.stubFor(get(CERTS).willReturn(switch (fault) {
			// Holds the request far beyond the fetch's 2 s deadline.
			case "hanging" -> keys().withFixedDelay(20_000);
			// A chunk every 500 ms for 20 s: no single read ever waits long.
			default -> keys().withChunkedDribbleDelay(40, 20_000);
		}));

		CountDownLatch go = new CountDownLatch(1);
		List<Future<long[]>> burst = new ArrayList<>();
		for (int i = 0; i < BURST; i++) {
			String unknown = token(STRANGER, UUID.randomUUID().toString());
			burst.add(this.clients.submit(() -> {
				go.await();
				return call(app, "/api/me", unknown);
			}));
		}
		List<Long> statusNanos = Collections.synchronizedList(new ArrayList<>());
		CompletableFuture<Void> openEndpoint = CompletableFuture.runAsync(() -> {
			try {
				go.await();
				while (statusNanos.size() < 200 && !burst.stream().allMatch(Future::isDone)) {
					long[] answer = call(app, "/api/status", null);
					assertThat(answer[0]).isEqualTo(200);
					statusNanos.add(answer[1]);
				}
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
		}, this.clients);
		go.countDown();

		List<Long> burstNanos = new ArrayList<>();
		for (Future<long[]> answer : burst) {
			long[] statusAndNanos = answer.get(10, TimeUnit.SECONDS);
			assertThat(statusAndNanos[0]).isEqualTo(401);
			burstNanos.add(statusAndNanos[1]);
		}
		openEndpoint.get(10, TimeUnit.SECONDS);
		// 100 ms is the target; 1 s keeps the test robust on a loaded two-core machine.
		assertThat(percentile(burstNanos, 1.0)).isLessThan(Duration.ofSeconds(1));
		assertThat(statusNanos).isNotEmpty();
		assertThat(percentile(statusNanos, 1.0)).isLessThan(Duration.ofSeconds(1));
		System.out.printf("%s: %d unknown-kid requests, 401 p50=%d ms p99=%d ms max=%d ms; /api/status %d calls "
				+ "p99=%d ms max=%d ms%n", fault, BURST, percentile(burstNanos, 0.5).toMillis(),
				percentile(burstNanos, 0.99).toMillis(), percentile(burstNanos, 1.0).toMillis(), statusNanos.size(),
				percentile(statusNanos, 0.99).toMillis(), percentile(statusNanos, 1.0).toMillis());

		// One fetch on the wire for the whole burst, and it ends at its 2 s total deadline.
		await().atMost(Duration.ofSeconds(5)).until(() -> source.status().failedFetches() >= 1);
		assertThat(source.status().failuresByCause()).containsEntry("timeout", 1L);
		assertThat(source.status().failedFetches()).isEqualTo(1);
		assertThat(fetchesOnTheWire() - before).isEqualTo(1);
		// Tokens of the keys already known are still accepted.
		assertThat(call(app, "/api/me", valid)[0]).isEqualTo(200);
	}

	@Test
	void acceptsValidTokensWithinTwoSecondsOfTheKeySetEndpointAnsweringAfterAColdStart() throws Exception {
		keycloak.stubFor(get(CERTS).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
		ConfigurableApplicationContext app = start();
		String valid = token(KEY, "k1");
		AtomicLong firstAccepted = new AtomicLong();
		AtomicLong requests = new AtomicLong();
		CountDownLatch stop = new CountDownLatch(1);
		// Steady traffic, about 20 requests a second, until the first token is accepted.
		Future<?> traffic = this.clients.submit(() -> {
			while (!stop.await(50, TimeUnit.MILLISECONDS)) {
				long[] answer = call(app, "/api/me", valid);
				requests.incrementAndGet();
				if (answer[0] == 200) {
					firstAccepted.compareAndSet(0, System.nanoTime());
					return null;
				}
				assertThat(answer[0]).isEqualTo(401);
			}
			return null;
		});
		try {
			long outageStarted = System.nanoTime();
			// The outage lasts until traffic has asked for three fetches beyond the one at startup.
			await().atMost(Duration.ofSeconds(10)).until(() -> fetchesOnTheWire() >= 4);
			int duringOutage = fetchesOnTheWire();
			double outageSeconds = (System.nanoTime() - outageStarted) / 1e9;
			long requestsDuringOutage = requests.get();
			keycloak.stubFor(get(CERTS).willReturn(keys()));
			long recovered = System.nanoTime();
			await().atMost(Duration.ofSeconds(5)).until(() -> firstAccepted.get() != 0);
			Duration recovery = Duration.ofNanos(firstAccepted.get() - recovered);
			System.out.printf("cold start: valid token accepted %d ms after the endpoint answered; %d fetches on the "
					+ "wire in %.1f s of outage for %d requests%n", recovery.toMillis(), duringOutage, outageSeconds,
					requestsDuringOutage);
			assertThat(recovery).isLessThan(Duration.ofSeconds(2));
			// About one fetch a second while no key is trusted, not one per request.
			assertThat(requestsDuringOutage).isGreaterThan(duringOutage * 5L);
			assertThat(duringOutage).isLessThanOrEqualTo((int) Math.ceil(outageSeconds) + 2);
		}
		finally {
			stop.countDown();
			traffic.get(10, TimeUnit.SECONDS);
		}
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	@RestController
	static class ResourceServer {

		@GetMapping("/api/me")
		String me(java.security.Principal principal) {
			return principal.getName();
		}

		@GetMapping("/api/status")
		String status() {
			return "up";
		}

		@Bean
		SecurityFilterChain security(HttpSecurity http) throws Exception {
			return http
				.authorizeHttpRequests((requests) -> requests.requestMatchers("/api/status")
					.permitAll()
					.anyRequest()
					.authenticated())
				.oauth2ResourceServer((resourceServer) -> resourceServer.jwt(Customizer.withDefaults()))
				.build();
		}

	}

}
