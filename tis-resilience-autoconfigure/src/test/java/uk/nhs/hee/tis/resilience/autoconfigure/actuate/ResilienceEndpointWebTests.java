package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /actuator/resilience} over real HTTP, as an operator calls it: Boot's answers for a service or an
 * action it does not know, and Boot's access setting to make it read-only.
 */
@ExtendWith(OutputCaptureExtension.class)
class ResilienceEndpointWebTests {

	private final List<ConfigurableApplicationContext> apps = new ArrayList<>();

	private final HttpClient http = HttpClient.newHttpClient();

	@AfterEach
	void stopApps() {
		this.apps.forEach(ConfigurableApplicationContext::close);
	}

	private ConfigurableApplicationContext start(String... more) {
		List<String> args = new ArrayList<>(List.of("--server.port=0", "--server.address=127.0.0.1",
				"--management.endpoints.web.exposure.include=resilience",
				"--tis.resilience.services.profile.url=http://127.0.0.1:9/profile"));
		args.addAll(List.of(more));
		ConfigurableApplicationContext app = new SpringApplicationBuilder(Ops.class).run(args.toArray(String[]::new));
		this.apps.add(app);
		return app;
	}

	private HttpResponse<String> post(ConfigurableApplicationContext app, String path, String json) throws Exception {
		int port = ((WebServerApplicationContext) app).getWebServer().getPort();
		return this.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
			.header("Content-Type", "application/json")
			.POST(HttpRequest.BodyPublishers.ofString(json))
			.build(), HttpResponse.BodyHandlers.ofString());
	}

	@Test
	void answers404ForAServiceItDoesNotKnowAndCreatesNone() throws Exception {
		ConfigurableApplicationContext app = start();
		HttpResponse<String> response = post(app, "/actuator/resilience/nosuch", "{\"action\":\"force-open\"}");
		assertThat(response.statusCode()).isEqualTo(404);
		assertThat(response.body()).contains("no service named 'nosuch'");
		assertThat(app.getBean(ServiceGuardRegistry.class).guards()).extracting((guard) -> guard.name())
			.doesNotContain("nosuch");
	}

	@Test
	void answers400ForAnUnknownActionWithoutAStackTrace(CapturedOutput output) throws Exception {
		ConfigurableApplicationContext app = start();
		HttpResponse<String> response = post(app, "/actuator/resilience/profile", "{\"action\":\"explode\"}");
		assertThat(response.statusCode()).isEqualTo(400);
		assertThat(response.body()).contains("action must be one of [force-open, close, disable]");
		assertThat(output).doesNotContain("ERROR").doesNotContain("IllegalArgumentException");
		assertThat(app.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().getState().name())
			.isEqualTo("CLOSED");
	}

	@Test
	void forcesABreakerOpenAndIsReadOnlyWhenBootsAccessSettingSaysSo() throws Exception {
		ConfigurableApplicationContext open = start();
		assertThat(post(open, "/actuator/resilience/profile", "{\"action\":\"force-open\"}").statusCode()).isEqualTo(200);
		assertThat(open.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().getState().name())
			.isEqualTo("FORCED_OPEN");
		ConfigurableApplicationContext readOnly = start("--management.endpoint.resilience.access=read-only");
		assertThat(post(readOnly, "/actuator/resilience/profile", "{\"action\":\"force-open\"}").statusCode())
			.isNotEqualTo(200);
		assertThat(readOnly.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().getState().name())
			.isEqualTo("CLOSED");
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration(excludeName = {
			"org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration",
			"org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration" })
	static class Ops {

	}

}
