package uk.nhs.hee.tis.resilience.keycloak;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.examples.demo.Keycloak;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Keycloak outage end to end: a token issued by a real Keycloak still validates after Keycloak
 * is stopped and the service is restarted — with the starter; without it, the restarted service
 * validates nothing.
 */
class KeycloakOutageTests {

	private static Keycloak keycloak;

	private static String token;

	@TempDir
	static Path directory;

	private final List<ConfigurableApplicationContext> apps = new ArrayList<>();

	@BeforeAll
	static void startKeycloak() throws Exception {
		keycloak = new Keycloak(Path.of(System.getProperty("keycloak.home")), directory.resolve("keycloak.log"));
		keycloak.start();
		token = keycloak.userToken("ada");
	}

	@AfterAll
	static void stopKeycloak() {
		if (keycloak != null) {
			keycloak.stop();
		}
	}

	@AfterEach
	void stopApps() {
		this.apps.forEach(ConfigurableApplicationContext::close);
	}

	private ConfigurableApplicationContext start(boolean starter) {
		ConfigurableApplicationContext app = new SpringApplicationBuilder(ProtectedService.class).run(
				"--server.port=0", "--server.address=127.0.0.1", "--tis.resilience.enabled=" + starter,
				"--spring.security.oauth2.resourceserver.jwt.issuer-uri=" + keycloak.issuer(),
				"--tis.resilience.jwt.cache-file=" + directory.resolve("jwks.json"));
		this.apps.add(app);
		return app;
	}

	private static int call(ConfigurableApplicationContext app) {
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
	void aTokenStillValidatesAfterKeycloakStopsAndTheServiceRestarts() {
		ConfigurableApplicationContext before = start(true);
		assertThat(call(before)).isEqualTo(200);
		ConfigurableApplicationContext plainBefore = start(false);
		assertThat(call(plainBefore)).isEqualTo(200);
		before.close();
		plainBefore.close();

		keycloak.stop();

		ConfigurableApplicationContext restarted = start(true);
		assertThat(call(restarted)).as("with the starter, after a restart during the outage").isEqualTo(200);
		ConfigurableApplicationContext plainRestarted = start(false);
		assertThat(call(plainRestarted)).as("plain Spring Boot, after a restart during the outage").isNotEqualTo(200);
	}

}
