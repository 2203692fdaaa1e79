package uk.nhs.hee.tis.resilience.keycloak;

import java.security.Principal;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** A resource server as a TIS team writes one: Boot's issuer-uri and nothing else. */
@SpringBootApplication
@RestController
public class ProtectedService {

	@GetMapping("/api/me")
	String me(Principal principal) {
		return principal.getName();
	}

}
