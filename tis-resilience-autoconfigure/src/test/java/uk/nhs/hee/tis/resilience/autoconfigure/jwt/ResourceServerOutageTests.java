package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

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
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real servlet resource server on loopback, configured only with Spring Boot's own
 * {@code issuer-uri}, validating tokens signed by keys the test generates while a stand-in Keycloak
 * serves, fails and disappears.
 */
class ResourceServerOutageTests {

	private static final String REALM = "/realms/tis";

	private static final String CERTS = REALM + "/protocol/openid-connect/certs";

	@RegisterExtension
	static WireMockExtension keycloak = LoopbackFixtures.loopbackServer();

	private static final RSAKey KEY = generate("k1");

	private final List<ConfigurableApplicationContext> apps = new ArrayList<>();

	@TempDir
	Path directory;

	@AfterEach
	void stopApps() {
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

	private static void keycloakServesKeys() {
		keycloak.stubFor(get(CERTS).willReturn(okJson(new JWKSet(KEY.toPublicJWK()).toString())));
	}

	private static String token(RSAKey key, String issuer) {
		try {
			SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
					new JWTClaimsSet.Builder().subject("ada")
						.issuer(issuer)
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
				"--spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer()));
		args.addAll(List.of(extra));
		ConfigurableApplicationContext app = new SpringApplicationBuilder(ResourceServer.class)
			.run(args.toArray(String[]::new));
		this.apps.add(app);
		return app;
	}

	private static int status(ConfigurableApplicationContext app, String token) {
		int port = ((WebServerApplicationContext) app).getWebServer().getPort();
		return RestClient.create("http://127.0.0.1:" + port)
			.get()
			.uri("/api/me")
			.header("Authorization", "Bearer " + token)
			.retrieve()
			.onStatus((status) -> true, (request, response) -> {
			})
			.toBodilessEntity()
			.getStatusCode()
			.value();
	}

	@Test
	void keepsAcceptingTokensWhileKeycloakIsDownThenRejectsThemWith401AfterMaxStale() {
		keycloakServesKeys();
		ConfigurableApplicationContext app = start("--tis.resilience.jwt.refresh-interval=500ms",
				"--tis.resilience.jwt.max-stale=3s");
		String token = token(KEY, issuer());
		assertThat(status(app, token)).isEqualTo(200);
		keycloak.stubFor(get(CERTS).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
		await().atMost(Duration.ofSeconds(5))
			.until(() -> app.getBean(ResilientJwkSetSource.class).status().lastFailure() != null);
		assertThat(status(app, token)).isEqualTo(200);
		await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> status(app, token) == 401);
	}

	@Test
	void answers401Not500WhenKeycloakIsDownAndNoKeyIsKnown() {
		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		ConfigurableApplicationContext app = start();
		assertThat(status(app, token(KEY, issuer()))).isEqualTo(401);
	}

	@Test
	void startsWithoutKeycloakAndValidatesOnceItIsUp() {
		keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
		ConfigurableApplicationContext app = start("--tis.resilience.jwt.unknown-kid-cooldown=100ms");
		keycloakServesKeys();
		await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(200))
			.until(() -> status(app, token(KEY, issuer())) == 200);
	}

	@Test
	void validatesOnTheFirstRequestAfterARestartDuringAnOutage() {
		String cacheFile = "--tis.resilience.jwt.cache-file=" + this.directory.resolve("jwks.json");
		keycloakServesKeys();
		ConfigurableApplicationContext before = start(cacheFile);
		assertThat(status(before, token(KEY, issuer()))).isEqualTo(200);
		before.close();

		keycloak.stubFor(get(CERTS).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
		ConfigurableApplicationContext restarted = start(cacheFile);
		assertThat(status(restarted, token(KEY, issuer()))).isEqualTo(200);
	}

	@Test
	void rejectsATokenFromAnotherIssuer() {
		keycloakServesKeys();
		ConfigurableApplicationContext app = start();
		assertThat(status(app, token(KEY, "http://elsewhere/realms/tis"))).isEqualTo(401);
		assertThat(status(app, token(KEY, issuer()))).isEqualTo(200);
	}

	@Test
	void backsOffToTheApplicationsOwnDecoder() {
		keycloakServesKeys();
		ConfigurableApplicationContext app = new SpringApplicationBuilder(ResourceServer.class, OwnDecoder.class)
			.run("--server.port=0", "--spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer());
		this.apps.add(app);
		assertThat(app.getBean(JwtDecoder.class)).isSameAs(app.getBean("ownDecoder"));
		assertThat(app.getBeansOfType(ResilientJwkSetSource.class)).hasSize(1);
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	@RestController
	static class ResourceServer {

		@GetMapping("/api/me")
		String me(java.security.Principal principal) {
			return principal.getName();
		}

	}

	static class OwnDecoder {

		@Bean
		JwtDecoder ownDecoder() {
			return NimbusJwtDecoder.withJwkSetUri(keycloak.baseUrl() + CERTS).build();
		}

	}

}
