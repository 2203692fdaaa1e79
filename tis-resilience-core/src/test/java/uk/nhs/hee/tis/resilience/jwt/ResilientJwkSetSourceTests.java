package uk.nhs.hee.tis.resilience.jwt;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetSequenceKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The JWK source against a real JWKS server on loopback that fails in every way a Keycloak can. */
class ResilientJwkSetSourceTests {

	private static final String CERTS = "/realms/tis/protocol/openid-connect/certs";

	@RegisterExtension
	static WireMockExtension keycloak = WireMockExtension.newInstance()
		.options(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"))
		.build();

	private static final RSAKey KEY_1 = Tokens.rsaKey("k1");

	private static final RSAKey KEY_2 = Tokens.rsaKey("k2");

	private final MutableClock clock = new MutableClock();

	private final List<ResilientJwkSetSource> sources = new ArrayList<>();

	@TempDir
	Path directory;

	@AfterEach
	void closeSources() {
		this.sources.forEach(ResilientJwkSetSource::close);
	}

	private JwkSetSettings settings() {
		return JwkSetSettings.defaults(URI.create(keycloak.baseUrl() + CERTS), Tokens.ISSUER)
			.withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2));
	}

	private ResilientJwkSetSource source(JwkSetSettings settings) {
		ResilientJwkSetSource source = new ResilientJwkSetSource(settings, this.clock);
		this.sources.add(source);
		return source;
	}

	private static void serve(String body) {
		keycloak.stubFor(get(CERTS).willReturn(okJson(body)));
	}

	private static int fetches() {
		return keycloak.findAll(getRequestedFor(urlPathEqualTo(CERTS))).size();
	}

	@Test
	void keepsAcceptingValidTokensThroughAnOutageUntilMaxStaleThenRejectsThem() {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings());
		assertThat(source.refreshNow()).isTrue();
		Tokens.Validator validator = new Tokens.Validator(source);
		String token = Tokens.sign(KEY_1, "ada");
		assertThat(validator.accepts(token)).isTrue();

		keycloak.stubFor(get(CERTS).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
		this.clock.advance(Duration.ofMinutes(6));
		assertThat(source.refreshNow()).isFalse();
		assertThat(validator.accepts(token)).isTrue();
		this.clock.advance(Duration.ofHours(23));
		assertThat(validator.accepts(token)).isTrue();
		assertThat(source.status().stale()).isTrue();

		this.clock.advance(Duration.ofHours(1));
		assertThat(validator.accepts(token)).isFalse();
		assertThat(source.status().keys()).isZero();
	}

	@Test
	void dropsAKeyAtOnceWhenASuccessfulFetchNoLongerListsIt() {
		serve(Tokens.jwks(KEY_1.toPublicJWK(), KEY_2.toPublicJWK()));
		ResilientJwkSetSource source = source(settings());
		source.refreshNow();
		Tokens.Validator validator = new Tokens.Validator(source);
		assertThat(validator.accepts(Tokens.sign(KEY_2, "ada"))).isTrue();
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		assertThat(source.refreshNow()).isTrue();
		assertThat(validator.accepts(Tokens.sign(KEY_2, "ada"))).isFalse();
		assertThat(validator.accepts(Tokens.sign(KEY_1, "ada"))).isTrue();
	}

	@ParameterizedTest
	@ValueSource(strings = { "html", "truncated", "empty", "oct", "private", "oversized", "500", "rsa1024" })
	void neverReplacesTheGoodSetWithABadAnswer(String answer) throws Exception {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings().withMaxResponseSize(16 * 1024));
		source.refreshNow();
		String valid = Tokens.sign(KEY_1, "ada");
		String full = Tokens.jwks(KEY_1.toPublicJWK());
		switch (answer) {
			case "html" -> keycloak.stubFor(get(CERTS).willReturn(aResponse().withStatus(200)
				.withHeader("Content-Type", "text/html")
				.withBody("<html><body>Keycloak is starting</body></html>")));
			case "truncated" -> serve(full.substring(0, full.length() / 2));
			case "empty" -> serve("{\"keys\":[]}");
			case "oct" -> serve(Tokens.jwks(new OctetSequenceKeyGenerator(256).keyID("k1").generate()));
			case "private" -> serve(Tokens.jwks(KEY_2));
			case "oversized" -> serve(Tokens.jwks(KEY_1.toPublicJWK()).replace("{\"keys\"",
					"{\"padding\":\"" + "x".repeat(32 * 1024) + "\",\"keys\""));
			case "500" -> keycloak.stubFor(get(CERTS).willReturn(aResponse().withStatus(500).withBody("oops")));
			default -> serve(Tokens.jwks(Tokens.rsaKey("k9", 1024).toPublicJWK()));
		}
		assertThat(source.refreshNow()).isFalse();
		assertThat(new Tokens.Validator(source).accepts(valid)).isTrue();
		assertThat(source.status().lastFailure()).isNotNull();
	}

	@Test
	void fetchesAtMostOncePerCooldownForAStormOfUnknownKeyIdsAndStillAcceptsValidTokens() throws Exception {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings());
		source.refreshNow();
		int before = fetches();
		Tokens.Validator validator = new Tokens.Validator(source);
		RSAKey stranger = Tokens.rsaKey("stranger");
		String valid = Tokens.sign(KEY_1, "ada");
		ExecutorService pool = Executors.newFixedThreadPool(8);
		try {
			List<Future<Boolean>> results = new ArrayList<>();
			for (int i = 0; i < 1000; i++) {
				String kid = UUID.randomUUID().toString();
				String forged = Tokens.sign(stranger, new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(), "x");
				results.add(pool.submit(() -> validator.accepts(forged)));
				if (i % 100 == 0) {
					results.add(pool.submit(() -> !validator.accepts(valid)));
				}
			}
			for (Future<Boolean> result : results) {
				assertThat(result.get()).isFalse();
			}
		}
		finally {
			pool.shutdownNow();
		}
		assertThat(fetches() - before).isLessThanOrEqualTo(1);
		assertThat(source.status().rateLimitedUnknownKids()).isGreaterThan(0);
	}

	@Test
	void rejectsUnsignedTokensAndHmacWithThePublicKeyAndChecksTokensWithoutAKeyIdAgainstEveryKey() throws Exception {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings());
		source.refreshNow();
		Tokens.Validator validator = new Tokens.Validator(source);
		JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("mallory").issuer(Tokens.ISSUER).build();

		assertThat(validator.accepts(new PlainJWT(claims).serialize())).isFalse();

		SignedJWT hmac = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(), claims);
		byte[] publicKeyAsSecret = KEY_1.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
		hmac.sign(new MACSigner(publicKeyAsSecret));
		assertThat(validator.accepts(hmac.serialize())).isFalse();

		assertThat(validator.accepts(Tokens.sign(KEY_1, new JWSHeader.Builder(JWSAlgorithm.RS256).build(), "ada")))
			.isTrue();
		RSAKey stranger = new RSAKeyGenerator(2048).generate();
		assertThat(validator.accepts(Tokens.sign(stranger, new JWSHeader.Builder(JWSAlgorithm.RS256).build(), "mallory")))
			.isFalse();
	}

	@Test
	void validatesAtOnceAfterARestartDuringAnOutageFromTheCacheFile() throws Exception {
		Path file = this.directory.resolve("jwks.json");
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		source(settings().withCacheFile(file, null)).refreshNow();
		assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		ResilientJwkSetSource restarted = source(settings().withCacheFile(file, null));
		assertThat(new Tokens.Validator(restarted).accepts(Tokens.sign(KEY_1, "ada"))).isTrue();
	}

	@Test
	void doesNotTrustATamperedCacheFile() throws Exception {
		Path file = this.directory.resolve("jwks.json");
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		source(settings().withCacheFile(file, null)).refreshNow();
		String attackerKey = Tokens.rsaKey("k1").toPublicJWK().toJSONString();
		String original = Files.readString(file);
		String modulus = (String) KEY_1.toPublicJWK().toJSONObject().get("n");
		String forgedModulus = (String) com.nimbusds.jose.util.JSONObjectUtils.parse(attackerKey).get("n");
		Files.writeString(file, original.replace(modulus, forgedModulus));

		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		ResilientJwkSetSource restarted = source(settings().withCacheFile(file, null));
		assertThat(restarted.status().keys()).isZero();
	}

	@Test
	void doesNotTrustACacheFileWrittenForAnotherIssuer() throws Exception {
		Path file = this.directory.resolve("jwks.json");
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		source(settings().withCacheFile(file, null)).refreshNow();
		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		JwkSetSettings otherIssuer = new JwkSetSettings(settings().jwkSetUri(), "http://elsewhere/realms/other",
				settings().refreshInterval(), settings().maxStale(), settings().unknownKidCooldown(),
				settings().connectTimeout(), settings().readTimeout(), settings().maxResponseSize(),
				settings().algorithms(), file, null);
		assertThat(source(otherIssuer).status().keys()).isZero();
	}

	@Test
	void doesNotTrustACacheFileSignedWithAnotherKey() throws Exception {
		Path file = this.directory.resolve("jwks.json");
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		source(settings().withCacheFile(file, "secret-one".getBytes(StandardCharsets.UTF_8))).refreshNow();
		assertThat(Files.readString(file)).contains("hmac-sha256:");
		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		assertThat(source(settings().withCacheFile(file, "secret-two".getBytes(StandardCharsets.UTF_8))).status().keys())
			.isZero();
		assertThat(source(settings().withCacheFile(file, "secret-one".getBytes(StandardCharsets.UTF_8))).status().keys())
			.isEqualTo(1);
	}

	@Test
	void doesNotTrustACacheFileOlderThanMaxStale() throws Exception {
		Path file = this.directory.resolve("jwks.json");
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		source(settings().withCacheFile(file, null)).refreshNow();
		this.clock.advance(Duration.ofHours(25));
		assertThat(source(settings().withCacheFile(file, null)).status().keys()).isZero();
	}

	@Test
	void answersTheFirstTokenAtOnceWhenNothingIsLoadedYetAndAcceptsItOnceTheFetchItAskedForEnded() {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings());
		Tokens.Validator validator = new Tokens.Validator(source);
		String token = Tokens.sign(KEY_1, "ada");
		assertThat(validator.accepts(token)).isFalse();
		await().atMost(Duration.ofSeconds(5)).until(() -> source.status().keys() == 1);
		assertThat(validator.accepts(token)).isTrue();
		assertThat(fetches()).isEqualTo(1);
	}

	@Test
	void waitsAtStartForTheFirstFetchSoThatAHealthyStartValidatesItsFirstToken() {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings());
		source.start();
		assertThat(new Tokens.Validator(source).accepts(Tokens.sign(KEY_1, "ada"))).isTrue();
	}

	@Test
	void answersAnUnknownKeyIdAtOnceWhileTheKeySetEndpointHangs() {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings().withTimeouts(Duration.ofMillis(500), Duration.ofSeconds(1)));
		assertThat(source.refreshNow()).isTrue();
		keycloak.stubFor(get(CERTS).willReturn(okJson(Tokens.jwks(KEY_1.toPublicJWK())).withFixedDelay(5_000)));
		Tokens.Validator validator = new Tokens.Validator(source);

		long started = System.nanoTime();
		assertThat(validator.accepts(Tokens.sign(Tokens.rsaKey("k9"), "mallory"))).isFalse();
		assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(500));
		// The token of a known key is still accepted while the fetch it caused hangs.
		assertThat(validator.accepts(Tokens.sign(KEY_1, "ada"))).isTrue();

		await().atMost(Duration.ofSeconds(3)).until(() -> source.status().failedFetches() == 1);
		assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(2_500));
		assertThat(source.status().failuresByCause()).containsEntry("timeout", 1L);
		assertThat(source.status().keys()).isEqualTo(1);
	}

	@Test
	void endsAFetchWhoseBodyDribblesAtItsTotalDeadline() {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings().withTimeouts(Duration.ofMillis(500), Duration.ofSeconds(1)));
		assertThat(source.refreshNow()).isTrue();
		// 40 chunks over 8 s: a chunk every 200 ms, well inside any per-read timeout.
		keycloak.stubFor(get(CERTS)
			.willReturn(okJson(Tokens.jwks(KEY_1.toPublicJWK(), KEY_2.toPublicJWK())).withChunkedDribbleDelay(40, 8_000)));
		Tokens.Validator validator = new Tokens.Validator(source);

		long started = System.nanoTime();
		assertThat(validator.accepts(Tokens.sign(KEY_2, "ada"))).isFalse();
		assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(500));

		await().atMost(Duration.ofSeconds(3)).until(() -> source.status().failedFetches() == 1);
		assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(2_500));
		assertThat(source.status().failuresByCause()).containsEntry("timeout", 1L);
		assertThat(validator.accepts(Tokens.sign(KEY_2, "ada"))).isFalse();
		assertThat(validator.accepts(Tokens.sign(KEY_1, "ada"))).isTrue();
	}

	@Test
	void causesOneFetchOnTheWireForManyConcurrentUnknownKeyIdsAndAnswersEachAtOnce() throws Exception {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings().withTimeouts(Duration.ofMillis(500), Duration.ofSeconds(1)));
		assertThat(source.refreshNow()).isTrue();
		keycloak.stubFor(get(CERTS).willReturn(okJson(Tokens.jwks(KEY_1.toPublicJWK())).withFixedDelay(3_000)));
		int before = fetches();
		Tokens.Validator validator = new Tokens.Validator(source);
		RSAKey stranger = Tokens.rsaKey("stranger");
		List<String> forged = new ArrayList<>();
		for (int i = 0; i < 50; i++) {
			forged.add(Tokens.sign(stranger,
					new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(UUID.randomUUID().toString()).build(), "x"));
		}
		ExecutorService pool = Executors.newFixedThreadPool(50);
		CountDownLatch go = new CountDownLatch(1);
		try {
			List<Future<Long>> answers = new ArrayList<>();
			for (String token : forged) {
				answers.add(pool.submit(() -> {
					go.await();
					long started = System.nanoTime();
					assertThat(validator.accepts(token)).isFalse();
					return System.nanoTime() - started;
				}));
			}
			go.countDown();
			for (Future<Long> answer : answers) {
				assertThat(Duration.ofNanos(answer.get(5, TimeUnit.SECONDS))).isLessThan(Duration.ofMillis(500));
			}
		}
		finally {
			pool.shutdownNow();
		}
		await().atMost(Duration.ofSeconds(3)).until(() -> source.status().failedFetches() == 1);
		assertThat(fetches() - before).isEqualTo(1);
		assertThat(source.status().unknownKidFetches()).isEqualTo(1);
	}

	@Test
	void acceptsValidTokensWithinTwoSecondsOfTheEndpointAnsweringAgainAfterAColdStartWithoutAFetchStorm()
			throws Exception {
		keycloak.stubFor(get(CERTS).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
		ResilientJwkSetSource source = new ResilientJwkSetSource(settings(), java.time.Clock.systemUTC());
		this.sources.add(source);
		source.start();
		Tokens.Validator validator = new Tokens.Validator(source);
		String token = Tokens.sign(KEY_1, "ada");
		java.util.concurrent.ScheduledExecutorService traffic = Executors.newScheduledThreadPool(4);
		java.util.concurrent.atomic.AtomicLong acceptedAt = new java.util.concurrent.atomic.AtomicLong();
		try {
			// 40 requests a second, each a token the source cannot check yet.
			traffic.scheduleAtFixedRate(() -> {
				if (validator.accepts(token)) {
					acceptedAt.compareAndSet(0, System.nanoTime());
				}
			}, 0, 25, TimeUnit.MILLISECONDS);
			long outageStarted = System.nanoTime();
			// The outage lasts until traffic has asked for three more fetches (about three seconds).
			await().atMost(Duration.ofSeconds(8)).until(() -> fetches() >= 4);
			int duringOutage = fetches();
			double outageSeconds = (System.nanoTime() - outageStarted) / 1e9;
			serve(Tokens.jwks(KEY_1.toPublicJWK()));
			long recovered = System.nanoTime();
			await().atMost(Duration.ofSeconds(3)).until(() -> acceptedAt.get() != 0);
			Duration recovery = Duration.ofNanos(acceptedAt.get() - recovered);
			assertThat(recovery).isLessThan(Duration.ofSeconds(2));
			// About one fetch a second while no key is trusted (plus the one at start), not one per request.
			assertThat(duringOutage).isLessThanOrEqualTo((int) Math.ceil(outageSeconds) + 2);
			assertThat(outageSeconds).isGreaterThan(2.0);
			System.out.printf("cold start: recovered in %d ms, %d fetches in %.1f s of outage (~%d requests)%n",
					recovery.toMillis(), duringOutage, outageSeconds, (int) (outageSeconds * 40));
		}
		finally {
			traffic.shutdownNow();
		}
	}

	@Test
	void refreshesInTheBackgroundOnceStarted() {
		serve(Tokens.jwks(KEY_1.toPublicJWK()));
		ResilientJwkSetSource source = source(settings());
		source.start();
		org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> source.status().keys() == 1);
	}


}
