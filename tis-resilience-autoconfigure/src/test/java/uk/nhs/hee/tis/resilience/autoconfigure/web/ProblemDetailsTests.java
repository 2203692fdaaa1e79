package uk.nhs.hee.tis.resilience.autoconfigure.web;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.bind.annotation.RestControllerAdvice;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

import static org.assertj.core.api.Assertions.assertThat;

/** What an end user gets when a downstream failure reaches a controller unhandled, over real HTTP. */
class ProblemDetailsTests {

	@Test
	void answers503ProblemJsonWithRetryAfterAndTheServiceName() {
		try (ConfigurableApplicationContext app = start(TcsLike.class)) {
			ResponseEntity<String> response = get(app, "/api/open");
			assertThat(response.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
			assertThat(response.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
			assertThat(response.getHeaders().getFirst("Retry-After")).isEqualTo("8");
			assertThat(response.getBody()).contains("\"status\":503")
				.contains("\"service\":\"profile\"")
				.contains("\"reason\":\"CIRCUIT_OPEN\"")
				.doesNotContain("downstream secret")
				.doesNotContain("at uk.nhs")
				.doesNotContain("trace");
		}
	}

	@Test
	void answers504ForATimeout() {
		try (ConfigurableApplicationContext app = start(TcsLike.class)) {
			ResponseEntity<String> response = get(app, "/api/timeout");
			assertThat(response.getStatusCode()).isEqualTo(HttpStatus.GATEWAY_TIMEOUT);
			assertThat(response.getHeaders().getFirst("Retry-After")).isNull();
			assertThat(response.getBody()).contains("\"reason\":\"TIMEOUT\"");
		}
	}

	@Test
	void letsTheApplicationsOwnHandlerWin() {
		try (ConfigurableApplicationContext app = start(TcsLike.class, OwnHandler.class)) {
			ResponseEntity<String> response = get(app, "/api/open");
			assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
			assertThat(response.getBody()).isEqualTo("handled by the application");
		}
	}

	@Test
	void canBeTurnedOff() {
		try (ConfigurableApplicationContext app = start(TcsLike.class, "--tis.resilience.problem-details.enabled=false")) {
			assertThat(app.getBeansOfType(ServiceUnavailableProblemHandler.class)).isEmpty();
			assertThat(get(app, "/api/open").getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
		}
	}

	private static ConfigurableApplicationContext start(Class<?> app, String... args) {
		return start(new Class<?>[] { app }, args);
	}

	private static ConfigurableApplicationContext start(Class<?> app, Class<?> extra) {
		return start(new Class<?>[] { app, extra });
	}

	private static ConfigurableApplicationContext start(Class<?>[] sources, String... args) {
		String[] arguments = new String[args.length + 2];
		arguments[0] = "--server.port=0";
		arguments[1] = "--server.address=127.0.0.1";
		System.arraycopy(args, 0, arguments, 2, args.length);
		return new SpringApplicationBuilder(sources).run(arguments);
	}

	private static ResponseEntity<String> get(ConfigurableApplicationContext app, String path) {
		return LoopbackFixtures.getFrom(app, path);
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration(excludeName = {
			"org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration" })
	@RestController
	static class TcsLike {

		@GetMapping("/api/open")
		String open() {
			throw new ServiceUnavailableException("profile", Reason.CIRCUIT_OPEN, Duration.ofMillis(7_200),
					new IllegalStateException("downstream secret"));
		}

		@GetMapping("/api/timeout")
		String timeout() {
			throw new ServiceUnavailableException("profile", Reason.TIMEOUT, null, null);
		}

	}

	@RestControllerAdvice
	static class OwnHandler {

		@ExceptionHandler(ServiceUnavailableException.class)
		String handle(ServiceUnavailableException ex) {
			return "handled by the application";
		}

	}

}
